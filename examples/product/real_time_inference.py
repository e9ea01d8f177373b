# Connect model to live data stream
model.connect_to_stream(
    source='openf1',
    update_frequency='per_lap'
)
