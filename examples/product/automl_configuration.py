from pitwall.ml import AutoMLTrainer

trainer = AutoMLTrainer(
    task='classification',
    time_budget=3600,  # 1 hour
    metric='accuracy',
    ensemble=True
)

best_model = trainer.train(data)
print(f"Best model: {best_model.algorithm}")
print(f"Accuracy: {best_model.score}")
