MODEL = {{model}}
DATASET = {{dataset}}
SPLIT = {{split}}
MAX_SAMPLES = {{max_samples}}  # None = the whole split
