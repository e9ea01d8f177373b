# Template: Race Prediction Model

import pitwall as pw
from pitwall.ml import ModelBuilder, FeatureStore

# Load data
fs = FeatureStore()
data = fs.get_features(
    seasons=[2022, 2023, 2024],
    feature_groups=['driver', 'team', 'session']
)

# Build model
builder = ModelBuilder(
    task='classification',
    target='race_winner'
)

# Train
model = builder.train(
    data,
    algorithm='xgboost',
    auto_tune=True
)

# Evaluate
results = model.evaluate(test_data)
results.plot_confusion_matrix()
results.plot_feature_importance()

# Deploy
model.deploy(name='race_winner_v1')
