{{! PEP 723 header, first half: the dependencies every method needs (a method adds its own after it, then {{>pep723_close}}). }}
# /// script
# requires-python = ">=3.10"
# dependencies = [
#     "trl>=1.9",
#     "transformers>=5.0",
#     "datasets>=4.7",
#     "accelerate>=1.4",
#     "huggingface_hub>=0.34",
