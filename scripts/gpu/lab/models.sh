# The synthetic GGUF (gen_models.py's file name, without .gguf) of each shape the lab scripts run.
file() { case "$1" in tiny270m) echo tiny270m-q8_0 ;; llama8b) echo llama8b-q4km ;; qwen3moe12) echo qwen3moe-a3b-12l-q4km ;; esac; }
