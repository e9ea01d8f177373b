import pitwall as pw

fs = pw.FeatureStore()
df = fs.get_features(
    seasons=(2018, 2023), feature_groups=["driver", "team", "session"], conditions="dry", moment="pre_race"
)

fe = pw.FeatureEngineer()


@fe.register("momentum_score")
def momentum_score(driver_data):
    recent_positions = driver_data["positions_last_5"]
    weights = [0.35, 0.25, 0.20, 0.12, 0.08]
    return sum((21 - p) * w for p, w in zip(recent_positions, weights)) / 20


data = fs.get_features(custom_features=["momentum_score"])

model = pw.train("race_winner", seasons=range(2014, 2024))  # 2023 out of sample, beside the baselines
model.rank(pw.race_features("race_winner", 2024, 8))  # Monaco 2024, pre-race
model.deploy(name="race_winner_v1")
model.share(title="Grid + form winner", description="xgboost on grid, quali gap and form")
pw.backtest("race_winner", season=2024, train_until=2023).metrics
pw.marketplace.top()

builder = pw.ModelBuilder(task="classification", target="dnf", features=["reliability_rate", "start_position"])
custom = builder.train(data, algorithm="auto", timeout=60)  # AutoML with Optuna
