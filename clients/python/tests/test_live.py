"""grm_client against a real GrmWorker (stdlib unittest).

Broker settings and the worker's queue come from the worker's own variables: GRM_RABBITMQ__HOST, __PORT,
__VIRTUALHOST, __USERNAME, __PASSWORD, __SCOREQUEUE (the queue the worker under test consumes). The TLS test also
needs GRM_LOCAL_AMQPS_PORT and GRM_LOCAL_TLS_CA (deploy/local/services-up.sh) and fails without them.
The worker is expected to run the bundled trained GRM (models/grm-tiny): jobs with two or more responses end
`scored`; a job with one response ends `failed` / `no_valid_samples` with that model.

    python3 -m unittest discover -s clients/python/tests -v
"""
import asyncio
import os
import threading
import time
import unittest
import uuid

from grm_client import GrmClient, GrmJobError, GrmPublishError, Result
from grm_client import trl as grm_trl
from grm_client import verl as grm_verl

OPTS = {"k_max": 4, "k_min": 4}  # 4 samples a job: quick, still voted
ADD = ("What is 47 + 8?", ["47 + 8 = 55, so the answer is 55.", "47 + 8 = 45, so the answer is 45."])
MUL = ("What is 6 times 7?", ["Maybe 42? I am not sure.", "6 times 7 is 42, so the answer is 42.", "67"])


def setUpModule():
    global client
    client = GrmClient.from_env(timeout=180)


def tearDownModule():
    client.close()


def assert_scored(test, result, n):
    test.assertIsInstance(result, Result)
    test.assertEqual("scored", result.status, result.raw)
    test.assertEqual(n, len(result.rewards))
    for reward in result.rewards:
        test.assertIsInstance(reward, float)
        test.assertGreaterEqual(reward, 1.0)
        test.assertLessEqual(reward, 10.0)
    test.assertIn(result.best, range(n))
    test.assertGreaterEqual(result.samples_used, 1)
    test.assertLessEqual(result.samples_valid, result.samples_used)
    test.assertEqual(result.request_id, result.raw["requestId"])


class ClientTests(unittest.TestCase):
    def test_score_blocks_until_the_typed_result(self):
        result = client.score(*ADD, metadata={"from": "unittest"}, **OPTS)
        assert_scored(self, result, 2)
        self.assertEqual({"from": "unittest"}, result.metadata)
        self.assertEqual(client.route, result.raw["route"])

    def test_score_many_keeps_order_and_bounds_the_requests_in_flight(self):
        jobs = [{"query": q, "responses": r, "metadata": {"i": i}} for i, (q, r) in enumerate([ADD, MUL, ADD, MUL, MUL])]
        most, stop = [0], threading.Event()

        def watch():
            while not stop.is_set():
                most[0] = max(most[0], client.pending)
                time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            results = client.score_many(jobs, max_in_flight=2, **OPTS)
        finally:
            stop.set()
            watcher.join()
        self.assertEqual(5, len(results))
        for i, (job, result) in enumerate(zip(jobs, results)):
            assert_scored(self, result, len(job["responses"]))
            self.assertEqual({"i": i}, result.metadata)
        self.assertLessEqual(most[0], 2)
        self.assertGreaterEqual(most[0], 1)

    def test_ascore_and_ascore_many_under_asyncio(self):
        async def main():
            one, two = await asyncio.gather(client.ascore(*ADD, **OPTS), client.ascore(*MUL, **OPTS))
            many = await client.ascore_many([ADD, MUL], max_in_flight=1, **OPTS)
            return one, two, many

        one, two, many = asyncio.run(main())
        assert_scored(self, one, 2)
        assert_scored(self, two, 3)
        self.assertEqual([2, 3], [len(r.rewards) for r in many])

    def test_many_threads_share_one_client(self):
        results, errors = {}, []

        def work(i):
            try:
                results[i] = client.score(*(ADD if i % 2 else MUL), metadata={"thread": i}, **OPTS)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        self.assertEqual([], errors)
        for i, result in results.items():
            self.assertEqual({"thread": i}, result.metadata)
            assert_scored(self, result, 2 if i % 2 else 3)
        self.assertEqual(6, len(results))

    def test_a_rejected_job_is_a_result_or_raises_on_request(self):
        result = client.score("", ["an answer to nothing", "another"])
        self.assertEqual("rejected", result.status)
        self.assertEqual("invalid_request", result.code)
        self.assertIn("query", result.message)
        self.assertEqual([], result.rewards)
        with self.assertRaises(GrmJobError) as raised:
            client.score("", ["x", "y"], raise_on_error=True)
        self.assertEqual("invalid_request", raised.exception.code)
        self.assertEqual("rejected", raised.exception.result.status)

    def test_a_timeout_names_the_request_id(self):
        future = client.submit(*MUL, timeout=0.05, **OPTS)
        with self.assertRaises(TimeoutError) as raised:
            future.result(30)
        self.assertIn(future.request_id, str(raised.exception))
        with self.assertRaises(TimeoutError) as raised:
            client.score_many([ADD, MUL], timeout=0.05, **OPTS)
        self.assertIn("score_many", str(raised.exception))

    def test_a_key_gives_a_deterministic_request_id_and_a_restarted_client_gets_the_stored_result(self):
        key = f"unittest/{uuid.uuid4().hex}/step-1/prompt-0"
        first = client.score(*ADD, key=key, **OPTS)
        assert_scored(self, first, 2)
        self.assertEqual(client.request_id_for(key), first.request_id)
        # A new client (a restarted trainer) sends the same key: the worker republishes the stored result.
        with GrmClient.from_env(timeout=60) as restarted:
            again = restarted.score(*ADD, key=key, **OPTS)
        self.assertEqual(first.request_id, again.request_id)
        self.assertEqual(first.raw, again.raw)  # the stored result, latencyMs and all: no second model run

    def test_a_lost_connection_and_results_queue_lose_no_result(self):
        with GrmClient.from_env(timeout=120) as own:
            futures = [own.submit(*job, metadata={"i": i}, **OPTS) for i, job in enumerate([ADD, MUL, ADD, MUL])]
            time.sleep(0.2)  # published, not yet scored
            # As a broker restart would: the connection goes and the non-durable results queue with it.
            own._drop_connection(delete_results_queue=True)
            results = [f.result(120) for f in futures]
            self.assertGreaterEqual(own.stats.reconnects, 1)
            self.assertGreaterEqual(own.stats.republished, 1)
        for i, result in enumerate(results):
            assert_scored(self, result, 2 if i % 2 == 0 else 3)
            self.assertEqual({"i": i}, result.metadata)

    def test_many_publishes_in_flight_through_a_small_confirm_window(self):
        # Rejected jobs (empty query) come back at once without a model run: this exercises the pipelined confirms.
        with GrmClient.from_env(timeout=120, max_unconfirmed=4) as own:
            futures = [own.submit("", ["x", "y"], metadata={"i": i}) for i in range(120)]
            results = [f.result(120) for f in futures]
            for _ in range(100):  # a result can come before its publish's confirm
                if own.stats.published == 120:
                    break
                time.sleep(0.05)
            self.assertEqual(120, own.stats.published)
            self.assertEqual(0, own.stats.unroutable + own.stats.nacked)
            self.assertEqual(0, len(own._unconfirmed))
        self.assertEqual(["rejected"] * 120, [r.status for r in results])
        self.assertEqual(list(range(120)), [r.metadata["i"] for r in results])

    def test_a_request_no_queue_takes_raises_a_publish_error(self):
        with GrmClient.from_env(score_queue=f"grm.score.nobody-{uuid.uuid4().hex}") as lonely:
            with self.assertRaises(GrmPublishError) as raised:
                lonely.score(*ADD, timeout=30)
        self.assertIn("is a worker running", str(raised.exception))
        # Many returned publishes in flight at once: each fails its own request, none counts as published.
        nobody = f"grm.score.nobody-{uuid.uuid4().hex}"
        with GrmClient.from_env(score_queue=nobody, timeout=60) as lonely:
            futures = [lonely.submit("", ["x", "y"]) for _ in range(20)]
            for f in futures:
                with self.assertRaises(GrmPublishError):
                    f.result(60)
            self.assertEqual(20, lonely.stats.unroutable)
            self.assertEqual(0, lonely.stats.published)

    def test_tls_with_a_private_ca(self):
        for name in ("GRM_LOCAL_AMQPS_PORT", "GRM_LOCAL_TLS_CA"):  # never skipped: a missing TLS listener is a failure
            self.assertTrue(os.environ.get(name), f"{name} is not set: run deploy/local/services-up.sh (it opens the TLS port)")
        env = dict(os.environ, GRM_RABBITMQ__USETLS="true", GRM_RABBITMQ__PORT=os.environ["GRM_LOCAL_AMQPS_PORT"],
                   GRM_RABBITMQ__TLSCAFILE=os.environ["GRM_LOCAL_TLS_CA"])
        with GrmClient.from_env(env, timeout=120) as tls:
            assert_scored(self, tls.score(*ADD, **OPTS), 2)


class TrlAdapterTests(unittest.TestCase):
    # GRPOTrainer with num_generations=4: each prompt repeated 4 times, one completion each.
    PROMPTS = ["What is 47 + 8?"] * 4 + ["What is 6 times 7?"] * 4
    COMPLETIONS = ["55", "45", "47 + 8 = 55, so the answer is 55.", "I think 54.",
                   "42", "6 times 7 is 42, so the answer is 42.", "48", "Maybe 42? I am not sure."]

    def test_plain_prompts_one_job_per_prompt_rewards_in_input_order(self):
        reward = grm_trl.reward_func(client, seed=7, **OPTS)
        self.assertEqual("grm", reward.__name__)
        before = client.stats.submitted
        rewards = reward(prompts=self.PROMPTS, completions=self.COMPLETIONS,
                         completion_ids=[[1]] * 8, trainer_state=None, solution=["55"] * 4 + ["42"] * 4)
        self.assertEqual(2, client.stats.submitted - before)  # one GRM job per distinct prompt
        self.assertEqual(8, len(rewards))
        self.assertTrue(all(isinstance(r, float) for r in rewards))
        # Same seed, same job: the worker draws the same samples, so the rewards are the jobs' rewards, in place.
        direct = [client.score(self.PROMPTS[i], self.COMPLETIONS[i:i + 4], seed=7, **OPTS).rewards for i in (0, 4)]
        self.assertEqual(direct[0] + direct[1], rewards)

    def test_conversational_format_and_a_reference_column(self):
        reward = grm_trl.reward_func(client, name="grm_judge", reference_column="solution", **OPTS)
        self.assertEqual("grm_judge", reward.__name__)
        prompts = [[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": p}]
                   for p in self.PROMPTS]
        completions = [[{"role": "assistant", "content": c}] for c in self.COMPLETIONS]
        rewards = reward(prompts, completions, solution=["55"] * 4 + ["42"] * 4)
        self.assertEqual(8, len(rewards))
        self.assertTrue(all(1.0 <= r <= 10.0 for r in rewards))

    def test_content_keys_let_a_restarted_trainer_get_the_stored_rewards(self):
        nonce = uuid.uuid4().hex  # fresh texts, so the first call is scored, not found stored
        prompts = [f"What is 47 + 8? ({nonce})"] * 4
        first = grm_trl.reward_func(client, content_key=True, **OPTS)(prompts, self.COMPLETIONS[:4])
        with GrmClient.from_env(timeout=60) as restarted:
            before = restarted.stats.results
            again = grm_trl.reward_func(restarted, content_key=True, **OPTS)(prompts, self.COMPLETIONS[:4])
            self.assertEqual(1, restarted.stats.results - before)
        self.assertEqual(first, again)  # unseeded: a second model run would draw other samples
        with self.assertRaises(TypeError):
            grm_trl.reward_func(client, key="same-for-every-job")

    def test_on_error_raises_by_default_or_gives_the_chosen_reward(self):
        # An empty prompt is rejected (invalid_request): never a silent 0.
        prompts, completions = ["", "", "What is 47 + 8?", "What is 47 + 8?"], ["a", "b", "55", "45"]
        with self.assertRaises(GrmJobError):
            grm_trl.reward_func(client, **OPTS)(prompts, completions)
        rewards = grm_trl.reward_func(client, on_error=-1.0, **OPTS)(prompts, completions)
        self.assertEqual([-1.0, -1.0], rewards[:2])
        self.assertTrue(all(1.0 <= r <= 10.0 for r in rewards[2:]), rewards)
        with self.assertRaises(ValueError):
            grm_trl.reward_func(client, on_error="zero")


class VerlAdapterTests(unittest.TestCase):
    # verl's batch reward manager: one call per batch, prompts interleaved, ground truth per item.
    SOLUTIONS = ["55", "42", "45", "6 times 7 is 42.", "47 + 8 = 55.", "67"]
    QUESTIONS = ["What is 47 + 8?", "What is 6 times 7?"] * 3
    TRUTHS = ["55", "42"] * 3

    def batch_args(self):
        infos = [{"split": "train", "index": i, "question": q} for i, q in enumerate(self.QUESTIONS)]
        return ["openai/gsm8k"] * 6, self.SOLUTIONS, self.TRUTHS, infos

    def test_batch_form_floats_and_dicts(self):
        compute = grm_verl.make_compute_score(client, **OPTS)
        before = client.stats.submitted
        scores = compute(*self.batch_args())
        self.assertEqual(2, client.stats.submitted - before)
        self.assertEqual(6, len(scores))
        self.assertTrue(all(isinstance(s, float) and 1.0 <= s <= 10.0 for s in scores), scores)
        dicts = grm_verl.make_compute_score(client, return_dict=True, **OPTS)(
            data_sources=self.batch_args()[0], solution_strs=self.SOLUTIONS, ground_truths=self.TRUTHS,
            extra_infos=self.batch_args()[3])
        self.assertEqual(6, len(dicts))
        for d in dicts:
            self.assertEqual({"score", "grm_failed", "grm_best", "grm_samples_used", "grm_samples_valid"}, set(d))
            self.assertEqual(0, d["grm_failed"])
        for parity in (0, 1):  # one best response per prompt
            self.assertEqual(1, sum(d["grm_best"] for d in dicts[parity::2]))

    def test_module_level_compute_score_from_env_serves_both_managers(self):
        scores = grm_verl.compute_score(*self.batch_args(), k_max=4)  # reward_kwargs are accepted and ignored
        self.assertEqual(6, len(scores))
        self.assertTrue(all(1.0 <= s <= 10.0 for s in scores))
        # Per item (verl's naive manager): a one-response job. The bundled GRM often cannot parse its own samples
        # for a single response (failed / no_valid_samples), which the default on_error raises.
        try:
            score = grm_verl.compute_score(data_source="openai/gsm8k", solution_str="47 + 8 = 55.", ground_truth="55",
                                           extra_info={"question": "What is 47 + 8?"})
            self.assertTrue(1.0 <= score <= 10.0, score)
        except GrmJobError as error:
            self.assertEqual("no_valid_samples", error.code)

    def test_per_item_form_maps_a_failed_job_to_the_chosen_score(self):
        item = grm_verl.make_compute_score_item(client, on_error=0.25, **OPTS)
        score = item("openai/gsm8k", "55", "55", {"prompt": [{"role": "user", "content": "What is 47 + 8?"}]})
        self.assertTrue(score == 0.25 or 1.0 <= score <= 10.0, score)  # one response: scored or no_valid_samples
        rejected = grm_verl.make_compute_score_item(client, on_error=0.25, k_max=1000)  # beyond Validation:MaxKMax
        self.assertEqual(0.25, rejected("openai/gsm8k", "55", "55", {"question": "What is 47 + 8?"}))
        with self.assertRaises(GrmJobError) as raised:
            grm_verl.make_compute_score_item(client, k_max=1000)("openai/gsm8k", "55", None, {"question": "q?"})
        self.assertEqual("invalid_request", raised.exception.code)
        with self.assertRaises(ValueError) as raised:
            item("openai/gsm8k", "55", "55", {"index": 3})
        self.assertIn("question", str(raised.exception))

if __name__ == "__main__":
    unittest.main()
