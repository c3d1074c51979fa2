"""TRL: GrmWorker as a GRPO reward function. In a trainer: GRPOTrainer(model, reward_funcs=[reward], ...)."""
from grm_client import GrmClient
from grm_client.trl import reward_func

with GrmClient.from_env() as client:  # GRM_RABBITMQ__* as the worker reads them
    reward = reward_func(client, on_error="raise", k_max=4)  # one GRM job per prompt with all its completions
    # What GRPOTrainer passes with num_generations=2, conversational format: each prompt twice.
    prompts = [[{"role": "user", "content": q}] for q in ["What is 47 + 8?"] * 2 + ["What is 6 times 7?"] * 2]
    completions = [[{"role": "assistant", "content": c}] for c in ["47 + 8 = 55.", "It is 45.", "42", "It is 67."]]
    rewards = reward(prompts=prompts, completions=completions, completion_ids=None, trainer_state=None)
    print(f"rewards/{reward.__name__}:", [round(r, 3) for r in rewards])
