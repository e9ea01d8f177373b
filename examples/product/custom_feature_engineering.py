from pitwall.features import FeatureEngineer

fe = FeatureEngineer()

# Create custom feature
@fe.register('momentum_score')
def momentum_score(driver_data):
    """Calculate driver momentum based on recent results"""
    recent_positions = driver_data['positions_last_5']
    weights = [0.35, 0.25, 0.20, 0.12, 0.08]

    score = sum(
        (21 - pos) * weight
        for pos, weight in zip(recent_positions, weights)
    )
    return score / 20  # Normalize to 0-1

# Use in training
data = fs.get_features(
    custom_features=['momentum_score']
)
