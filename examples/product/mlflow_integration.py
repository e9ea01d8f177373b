import mlflow

with mlflow.start_run(run_name="race_winner_xgb_v3"):
    # Log parameters
    mlflow.log_params({
        "algorithm": "xgboost",
        "max_depth": 6,
        "learning_rate": 0.1
    })

    # Train model
    model = train_model(params)

    # Log metrics
    mlflow.log_metrics({
        "accuracy": 0.47,
        "f1_score": 0.46
    })

    # Log model
    mlflow.sklearn.log_model(model, "model")
