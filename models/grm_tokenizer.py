"""Byte-level BPE tokenizer for the bundled GRM models, in Hugging Face tokenizer.json form.

The merges are trained here, in plain Python, on a small deterministic corpus of
English prose, source code and DeepSeek-GRM style judging text (principles,
critiques, "Scores: \\boxed{7, 3}", "[The Begin of Response 1]" ...), so that a
later trained GRM sees its own output format in few tokens.

Layout (what tokenizers / the C# tokenizer read):
  normalizer      null (so decode(encode(x)) == x for any text, NFC or not)
  pre_tokenizer   Sequence[Split(Qwen2-style regex, Isolated), ByteLevel(add_prefix_space=false,
                  use_regex=false)]
  model           BPE, byte-level alphabet (GPT-2 bytes_to_unicode), merges as [left, right] pairs,
                  ids 0..255 = the 256 bytes (id == byte value), then one id per merge in rank order
  decoder         ByteLevel
  post_processor  ByteLevel (trim_offsets false; adds nothing)
  added_tokens    <|endoftext|> (eos + pad), <|system|>, <|user|>, <|assistant|>, <|end|>,
                  at the top of the id range

Everything is deterministic: same corpus (seeded generator), same tie-breaking.
"""

from __future__ import annotations

import heapq
import json
import random
import re
from collections import Counter, defaultdict
from typing import Dict, List, Tuple

SPECIAL_TOKENS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

# Qwen2 / Qwen3 pre-tokenizer regex (Rust / .NET flavour: \p{L}, \p{N}).
SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Approximation in Python's `re` (no \p{..}), used only to count words for training.
_L = r"[^\W\d_]"
_NOT_LN_NL = r"(?:[^\r\n\w]|_)"
_NOT_S_LN = r"(?:[^\s\w]|_)"
_PY_SPLIT = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|" + _NOT_LN_NL + r"?" + _L + r"+|\d"
    r"| ?" + _NOT_S_LN + r"+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable unicode char table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()


# --------------------------------------------------------------------------- corpus

_PROSE = """\
The quick brown fox jumps over the lazy dog. A reward model reads a question and several answers, and decides which answer is better.
Generative reward models write their reasoning before they give a score, which makes the judgement easier to audit.
When the responses are shuffled for each sample, the position bias of the judge cancels out over several votes.
The assistant should answer the user's question accurately, concisely and politely, without inventing facts.
Inference-time scaling draws several samples from the judge and sums their scores; more samples give a more reliable reward.
A meta reward model rates each sample's principles and critique, and only the best samples are allowed to vote.
Adaptive early stopping draws samples in rounds and stops as soon as the ranking of the responses is settled.
Please explain the difference between a process and a thread in an operating system.
Write a short poem about the sea at night, with the moon reflected in the waves.
How many prime numbers are there between 1 and 100? Show your reasoning step by step.
The capital of France is Paris, the capital of Germany is Berlin, and the capital of Japan is Tokyo.
In 1969, Neil Armstrong became the first person to walk on the Moon during the Apollo 11 mission.
Photosynthesis converts light energy into chemical energy, storing it in the bonds of glucose molecules.
Water boils at 100 degrees Celsius at sea level, but at a lower temperature at high altitude.
The response is helpful, but it misses an important edge case and contains a small factual error.
Response 2 follows the instructions more closely, while Response 1 is more verbose and partly off-topic.
Both responses are correct; however, the first one is clearer and explains each step of the calculation.
The answer is harmless and honest, yet it does not address the user's actual request.
Could you summarize the main arguments of the article in three bullet points?
Translate the following sentence into Spanish: "I would like a cup of coffee, please."
Recent studies suggest that regular exercise improves sleep quality, mood and long-term memory.
The function should return an empty list when the input is empty, and raise an error for negative values.
It is important to check the units: the velocity is given in meters per second, not kilometers per hour.
She opened the window, looked at the garden, and decided that the weather was perfect for a walk.
Our team released version 2.3.1 of the library on Tuesday; it fixes a memory leak and adds batch support.
The total cost is $42.50 for 3 items, which means each item costs about $14.17 on average.
"""

_PROSE_MORE = """\
History teaches us that economic crises often follow long periods of cheap credit and rising asset prices.
The committee reviewed the budget proposal and recommended modest increases for education, transport and public health.
Mountains, rivers, forests and deserts shape the climate, agriculture and culture of every continent.
A healthy breakfast might include oatmeal, fresh fruit, yogurt, nuts, eggs or whole-grain bread.
The novel follows a young engineer who travels across the country to repair an abandoned lighthouse.
Vaccines train the immune system to recognize a pathogen without causing the disease itself.
Electric vehicles convert stored chemical energy into motion far more efficiently than combustion engines.
The museum's new exhibition features paintings, sculptures, photographs and ancient manuscripts.
Students should cite their sources, paraphrase carefully, and avoid plagiarism in every assignment.
The recipe calls for two cups of flour, one teaspoon of baking soda, butter, sugar, vanilla and chocolate chips.
Customers reported that the application crashed whenever they uploaded a large image from their phone.
Democracy depends on free elections, independent courts, a free press and the protection of minority rights.
Our quarterly revenue grew by twelve percent, driven mainly by subscriptions in Europe and Asia.
The detective examined the footprints near the fountain and noticed that someone had worn heavy boots.
Gravity bends light, so distant galaxies can act as lenses that magnify even more distant objects.
Good documentation describes the purpose, parameters, return values, exceptions and examples of each function.
The orchestra performed symphonies by Beethoven, Mozart and Brahms to an enthusiastic audience.
Farmers rotate crops such as wheat, maize, beans and potatoes to keep the soil fertile.
The hospital hired additional nurses, doctors and pharmacists to reduce waiting times in the emergency ward.
Cybersecurity experts warn users to enable two-factor authentication and to update software regularly.
Dolphins, whales and octopuses show remarkable intelligence, curiosity and problem-solving abilities.
A balanced argument acknowledges counterexamples, weighs evidence fairly and draws cautious conclusions.
The village celebrated its annual festival with music, dancing, fireworks and a parade through narrow streets.
Machine learning models can memorize their training data, so evaluation must use a separate held-out set.
Inflation reduces purchasing power, which hurts savers and people on fixed incomes the most.
The architect designed a library with tall windows, wooden shelves, quiet reading rooms and a rooftop garden.
Volcanic eruptions release ash and gases that can cool the global climate for several years.
Negotiation requires patience, empathy, preparation and a clear understanding of your alternatives.
The software engineer refactored the module, wrote unit tests, and documented every public interface.
Ancient civilizations in Egypt, Mesopotamia, India and China developed writing, mathematics and astronomy.
Although the weather forecast predicted sunshine, heavy thunderstorms flooded several neighborhoods overnight.
Lawyers, judges, witnesses and jurors each play a distinct role during a criminal trial.
Honeybees communicate the direction and distance of flowers through a complex waggle dance.
The startup raised funding from investors, hired designers and launched its product in six months.
Chess players calculate variations, evaluate positions and manage their clock under pressure.
Renewable sources such as solar, wind, hydroelectric and geothermal power are expanding rapidly worldwide.
The teacher encouraged curiosity by asking open questions and letting children explore their own ideas.
Carefully measure, mix, knead, proof, shape and bake the dough to obtain a crispy golden crust.
Telescopes, microscopes, thermometers and barometers transformed scientific observation during the Enlightenment.
Privacy regulations require companies to explain why they collect personal data and how long they keep it.
Athletes recover faster when they sleep well, stay hydrated and eat enough protein after training.
The philosopher argued that knowledge begins with experience but is organized by the categories of the mind.
Pilots follow checklists before takeoff, during cruise, on approach and after landing.
Wildfires spread quickly in dry, windy conditions, threatening homes, wildlife and air quality.
Translators must preserve meaning, tone, idioms and cultural references rather than individual words.
Spreadsheets organize values into rows and columns, making budgeting, forecasting and reporting easier.
Journalists verify facts with multiple independent sources before publishing a sensitive story.
Bridges must withstand traffic loads, temperature changes, strong winds and occasional earthquakes.
Meditation, gratitude, friendship and purposeful work contribute to long-term happiness and wellbeing.
The parliament debated immigration, taxation, healthcare, pensions, defense and environmental policy.
Quantum computers exploit superposition and entanglement, but they remain sensitive to noise and decoherence.
Birds migrate thousands of kilometers each year, navigating by the sun, the stars and the magnetic field.
The manager scheduled weekly meetings, assigned responsibilities and tracked progress against milestones.
Poetry uses rhythm, rhyme, metaphor, imagery and sound to express emotions in compact language.
Antibiotics kill bacteria but are useless against viruses, and overuse leads to resistant strains.
Libraries lend books, magazines, films and music, and many offer free internet access and classes.
Statistics distinguishes correlation from causation through randomized experiments and careful controls.
Mathematics: derivative, integral, matrix, vector, eigenvalue, probability, theorem, proof, lemma, equation.
Programming: variable, function, compiler, interpreter, recursion, iterator, exception, interface, dependency, thread.
"""

_COMMON_WORDS = """\
able about above accuracy accurate across act action after again against age ago air all almost
alone along already also although always am among amount an analysis and another answer any anything
are area areas around art as asked assistant at available away back be became because become
been before began behind being believe best better between big black board body book both boy
brought business but by called came can cannot car case center century certain change child children
church city class clear close college come common community company compare comparison complete concise context control
conversation correct could country course court criteria criterion critique critiques day days death detailed development did
didn different do does doing done door down during each early economic education effect either end
english enough evaluate evaluation even ever every evidence example expected experience explanation eyes face fact family
far federal feel feet felt few field figure final find first five follow following for force
form format found four free from front full further future gave general get girl give given
go going gone good got government great group half hand hands hard has have having he
head heard held help helpful her here high himself his history home house how however human
idea if important in incorrect increase individual information instruction instructions interest into is it itself job
john judge judging just keep kind knew know known land large last later law least leave
left less let level life light like line lines little local long longer look looked love
made major make making man many matter may me mean means members men method might military
million mind minutes miss model modern moment money more morning most mother much music must my
name national near necessary need never next night no nor north not nothing now number of
off office often old on once one only open or order other others our out output
outside over overall own part party past peace people per perhaps period person personal place plan
play point policy political position possible power present president principle principles private probably problem problems process
program provide public put quality query question quite rate rather real really reason reasoning red relevant
response responses result reward right road room run same sample samples saw say says school score
scores second see seem seemed seems seen sense set several shall she short should show side
simple since situation six small so social society some something sometimes soon sound south special specific
state states still stood street strong students study such sure surface system table take taken tax
tell than that the their them themselves then there therefore these they thing things think this
those though thought three through thus time times to today together told too took top total
toward town true turn turned two type under united university until up upon us use used
user usually value various very voice vote voting want war was washington water way we weak
week weight weights well went were west what when where whether which while white who whole
whose why wife will with within without woman women word words work world worse would year
years yet york you young your
"""

_NON_ASCII = """\
Café, naïve, façade, Zürich, São Paulo, Ærøskøbing, Łódź, Crème brûlée, jalapeño, résumé.
Привет, как дела? Это пример текста на русском языке.
这是一个用于测试分词器的中文句子。模型应该正确处理多字节字符。
日本語のテキストも少し含めます。東京は日本の首都です。
안녕하세요, 반갑습니다. Ελληνικά: Καλημέρα κόσμε. עברית: שלום עולם. العربية: مرحبا بالعالم.
Emoji: 😀 👍 🚀 ✅ ❌ — “quotes”, ‘single’, … € £ ¥ ° ± × ÷ → ≤ ≥ ∑ √ π ∞.
"""

_CODE = '''\
def fibonacci(n: int) -> list[int]:
    """Return the first n Fibonacci numbers."""
    if n <= 0:
        return []
    result = [0, 1]
    while len(result) < n:
        result.append(result[-1] + result[-2])
    return result[:n]


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()


for i in range(10):
    print(f"{i}: {i * i}")

import json
with open("data.json", "r", encoding="utf-8") as f:
    data = json.load(f)

public sealed class RewardAggregator
{
    private readonly Dictionary<int, double> _sums = new();

    public void Add(int responseIndex, double score)
    {
        _sums[responseIndex] = _sums.TryGetValue(responseIndex, out var s) ? s + score : score;
    }

    public IReadOnlyList<double> Mean(int count, int samples) =>
        Enumerable.Range(0, count).Select(i => _sums.GetValueOrDefault(i) / samples).ToList();
}

async Task<string> FetchAsync(HttpClient client, string url, CancellationToken ct)
{
    using var response = await client.GetAsync(url, ct).ConfigureAwait(false);
    response.EnsureSuccessStatusCode();
    return await response.Content.ReadAsStringAsync(ct);
}

function sortNumbers(values) {
  return [...values].sort((a, b) => a - b);
}

const total = items.reduce((acc, x) => acc + x.price * x.quantity, 0);
console.log(`Total: ${total.toFixed(2)}`);

SELECT job_id, response_index, AVG(score) AS mean_score
FROM scores
WHERE sample_id IN (SELECT id FROM grm_samples WHERE parse_status = 'ok')
GROUP BY job_id, response_index
ORDER BY job_id, response_index;

{"requestId": "abc-123", "query": "What is 2 + 2?", "responses": ["4", "5"], "kMax": 8, "temperature": 0.5}

#include <stdio.h>
int main(void) {
    for (int i = 0; i < 3; ++i) printf("%d\\n", i);
    return 0;
}
'''

_CRITERIA = [
    "Accuracy", "Helpfulness", "Relevance", "Clarity", "Completeness", "Conciseness",
    "Harmlessness", "Honesty", "Instruction Following", "Logical Consistency", "Correctness",
    "Code Quality", "Readability", "Depth of Explanation", "Creativity", "Factuality",
    "Safety", "Coherence", "Use of Examples", "Mathematical Rigor", "Fluency", "Tone",
]

_JUDGE_PHRASES = [
    "provides a correct and complete answer",
    "contains a factual error in the second paragraph",
    "does not follow the requested format",
    "is concise and directly addresses the question",
    "is overly verbose and repeats the same point",
    "gives a clear step-by-step explanation",
    "misses an important edge case",
    "uses an appropriate and polite tone",
    "includes working code with comments",
    "fails to answer the user's actual question",
    "makes an unsupported claim without evidence",
    "is well structured and easy to follow",
    "correctly computes the final result",
    "contains a bug in the loop condition",
    "refuses the request without a good reason",
    "offers helpful additional context",
]

_QUERIES = [
    "What is the capital of Australia?",
    "Write a Python function that checks whether a string is a palindrome.",
    "Explain why the sky is blue in simple terms.",
    "How do I reverse a linked list in C#?",
    "Summarize the causes of the First World War.",
    "Is it safe to eat raw cookie dough?",
    "Solve for x: 3x + 7 = 22.",
    "Give me three tips for a job interview.",
    "What does the SQL GROUP BY clause do?",
    "Translate 'good morning' into French and German.",
    "Write a haiku about autumn leaves.",
    "What is the time complexity of binary search?",
]

_ANSWERS = [
    "The capital of Australia is Canberra.",
    "The capital of Australia is Sydney.",
    "def is_palindrome(s):\n    s = s.lower()\n    return s == s[::-1]",
    "The sky looks blue because air molecules scatter blue light more than red light (Rayleigh scattering).",
    "x = 5, because 3 * 5 + 7 = 22.",
    "x = 6.",
    "Binary search runs in O(log n) time.",
    "Binary search is O(n).",
    "Bonjour (French) and Guten Morgen (German).",
    "Crimson leaves drifting / whispers of the cooling wind / autumn says goodbye",
    "GROUP BY groups rows that share a value so that aggregates such as COUNT or AVG apply per group.",
    "No, raw dough can contain Salmonella from eggs and E. coli from flour.",
    "Be punctual, research the company, and prepare questions to ask.",
]

GRM_SYSTEM = "You are a skilled little expert at scoring responses. You should evaluate given responses based on the given judging criteria."

GRM_INSTRUCTIONS = (
    "Given the context of the conversation (the last round is the User's query) and multiple responses "
    "from the Assistant, you need to refer to the [General Evaluation Criteria] to score the responses. "
    "Based on the general evaluation criteria, state potential other specific criteria to the query, "
    "the weights of different criteria, and then provide an overall comprehensive score upon them.\n"
    "Each score is an integer between 1 and 10, with a higher score indicating that the response meets "
    "the relevant criteria more closely. For example, a score of 1 means the response does not meet the "
    "criteria at all, and a score of 10 means the response fully meets the criteria.\n"
    "Before scoring, please analyze step by step. Your scoring needs to be as strict as possible."
)

GRM_OUTPUT_FORMAT = (
    "#### Output Format Requirements ####\n"
    "Output with three lines\n"
    "Specific Criteria: <Other potential criteria specific to the query and the context, and the weights of each criteria>.\n"
    "Analysis: <Compare different responses based on given Criteria>.\n"
    "Scores: <the overall comprehensive score of all responses in order, separate by comma in the boxed, "
    "e.g., \\boxed{x, x} if there exists 2 responses>."
)


def grm_prompt(query: str, responses: List[str]) -> str:
    """DeepSeek-GRM style pointwise judging prompt (user turn text)."""
    parts = [GRM_INSTRUCTIONS, "", "#### Conversation Context ####", f"User: {query}", "",
             "#### Responses to be Scored ####"]
    for i, r in enumerate(responses, 1):
        parts += [f"[The Begin of Response {i}]", r, f"[The End of Response {i}]"]
    parts += ["", GRM_OUTPUT_FORMAT]
    return "\n".join(parts)


def _grm_output(rng: random.Random, n: int) -> str:
    crits = rng.sample(_CRITERIA, rng.randint(2, 4))
    weights = [rng.choice([10, 15, 20, 25, 30, 35, 40]) for _ in crits]
    spec = "; ".join(f"{c} (Weight: {w}%)" for c, w in zip(crits, weights))
    analysis = []
    for i in range(1, n + 1):
        analysis.append(f"Response {i} {rng.choice(_JUDGE_PHRASES)}, and it {rng.choice(_JUDGE_PHRASES)}.")
    scores = ", ".join(str(rng.randint(1, 10)) for _ in range(n))
    return (f"Specific Criteria: {spec}.\n"
            f"Analysis: {' '.join(analysis)}\n"
            f"Scores: \\boxed{{{scores}}}")


def build_corpus(seed: int = 1234, grm_examples: int = 200) -> str:
    """Deterministic training corpus (~0.5 MB)."""
    rng = random.Random(seed)
    chunks: List[str] = []
    prose_lines = (_PROSE + _PROSE_MORE).strip().split("\n")
    for _ in range(6):
        chunks.append(_PROSE)
        chunks.append(_PROSE_MORE)
        chunks.append(_CODE)
        chunks.append(_NON_ASCII)
    common = _COMMON_WORDS.split()
    for _ in range(40):  # common English words, each with and without a leading space/capital
        ws = rng.sample(common, len(common))
        chunks.append(" ".join(ws) + "\n")
        chunks.append(" ".join(w.capitalize() for w in ws[:200]) + "\n")
    for _ in range(100):  # shuffled prose paragraphs
        chunks.append(" ".join(rng.sample(prose_lines, 5)) + "\n")
    for _ in range(grm_examples):
        n = rng.randint(2, 4)
        q = rng.choice(_QUERIES)
        rs = [rng.choice(_ANSWERS) for _ in range(n)]
        chunks.append("<|system|>\n" + GRM_SYSTEM + "<|end|>\n")
        chunks.append("<|user|>\n" + grm_prompt(q, rs) + "<|end|>\n")
        chunks.append("<|assistant|>\n" + _grm_output(rng, n) + "<|end|><|endoftext|>\n")
    for _ in range(200):  # numbers and arithmetic
        a, b = rng.randint(0, 9999), rng.randint(0, 999)
        chunks.append(f"{a} + {b} = {a + b}; {a} * {b} = {a * b}; {a / max(b, 1):.3f}\n")
    return "".join(chunks)


# --------------------------------------------------------------------------- BPE training

def _split_specials(text: str) -> List[str]:
    pat = "(" + "|".join(re.escape(s) for s in SPECIAL_TOKENS) + ")"
    return [p for p in re.split(pat, text) if p and p not in SPECIAL_TOKENS]


def _word_counts(text: str) -> Counter:
    counts: Counter = Counter()
    for piece in _split_specials(text):
        for w in _PY_SPLIT.findall(piece):
            counts["".join(BYTE_TO_CHAR[b] for b in w.encode("utf-8"))] += 1
    return counts


def train_bpe(text: str, num_new_tokens: int) -> List[Tuple[str, str]]:
    """Classic BPE over byte-level words; ties broken by the smallest pair (deterministic).

    Stops once the merges have produced num_new_tokens distinct new tokens (two merges
    may produce the same string; the vocab then holds it once).
    """
    counts = _word_counts(text)
    words = [list(w) for w in sorted(counts)]
    freqs = [counts[w] for w in sorted(counts)]
    pair_count: Dict[Tuple[str, str], int] = defaultdict(int)
    where: Dict[Tuple[str, str], set] = defaultdict(set)
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += f
            where[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges: List[Tuple[str, str]] = []
    seen = set(BYTE_TO_CHAR.values())
    while len(seen) - 256 < num_new_tokens and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc:
            continue  # stale
        if -negc < 2:
            break
        merges.append(pair)
        a, b = pair
        new_sym = a + b
        seen.add(new_sym)
        changed = set()
        for wi in sorted(where.pop(pair, ())):
            w, f = words[wi], freqs[wi]
            for x, y in zip(w, w[1:]):
                pair_count[(x, y)] -= f
                changed.add((x, y))
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new_sym)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                where[(x, y)].add(wi)
                changed.add((x, y))
        pair_count.pop(pair, None)
        for p in sorted(changed):
            c = pair_count.get(p, 0)
            if c <= 0:
                pair_count.pop(p, None)
                where.pop(p, None)
            elif p != pair:
                heapq.heappush(heap, (-c, p))
    return merges


def build_tokenizer_json(merges: List[Tuple[str, str]]) -> dict:
    vocab: Dict[str, int] = {}
    for b in range(256):
        vocab[BYTE_TO_CHAR[b]] = b
    for a, b in merges:
        tok = a + b
        if tok not in vocab:
            vocab[tok] = len(vocab)
    base = len(vocab)
    added = [
        {"id": base + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, s in enumerate(SPECIAL_TOKENS)
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_REGEX}, "behavior": "Isolated", "invert": False},
                byte_level,
            ],
        },
        "post_processor": dict(byte_level),
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[a, b] for a, b in merges],
        },
    }


def train_tokenizer(vocab_size: int = 3072, seed: int = 1234, extra_corpus: str = "") -> dict:
    """tokenizer.json dict with exactly vocab_size ids (256 bytes + merges + specials).
    ``extra_corpus`` (e.g. a model's own training text) is learnt along with the general corpus."""
    num_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    merges = train_bpe(build_corpus(seed) + extra_corpus, num_merges)
    tok = build_tokenizer_json(merges)
    n = len(tok["model"]["vocab"]) + len(tok["added_tokens"])
    if n != vocab_size:
        raise RuntimeError(f"corpus too small: got {n} ids, wanted {vocab_size}")
    return tok


def write_tokenizer(tok: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=2)
        f.write("\n")


def special_ids(tok: dict) -> Dict[str, int]:
    return {t["content"]: t["id"] for t in tok["added_tokens"]}
