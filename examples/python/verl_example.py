"""verl: GrmWorker as the batch reward manager's compute_score (reward_model.reward_manager=batch).
Config-file style instead: custom_reward_function.path=<site-packages>/grm_client/verl.py, .name=compute_score."""
from grm_client import GrmClient
from grm_client.verl import make_compute_score

with GrmClient.from_env() as client:  # GRM_RABBITMQ__* as the worker reads them
    compute_score = make_compute_score(client, on_error=0.0, return_dict=True, k_max=4)  # a failed job scores 0.0
    # What verl's BatchRewardManager passes; the GRM needs the prompt: extra_info["question"] (or ["prompt"]).
    questions = ["What is 47 + 8?", "What is 6 times 7?"] * 2
    scores = compute_score(data_sources=["gsm8k"] * 4, solution_strs=["55", "42", "45", "It is 67."],
                           ground_truths=["55", "42"] * 2, extra_infos=[{"question": q} for q in questions])
    print("scores:", [round(s["score"], 3) for s in scores], "best:", [s["grm_best"] for s in scores])
