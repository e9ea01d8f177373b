# Predict entire championship
predictions = model.predict_championship(
    season=2025,
    remaining_races=True
)
