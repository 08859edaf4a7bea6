{{! The model and the data: the first settings of every script (the method's column settings follow). }}
MODEL = {{model}}
DATASET = {{dataset}}
SPLIT = {{split}}
MAX_SAMPLES = {{max_samples}}  # None = the whole split
