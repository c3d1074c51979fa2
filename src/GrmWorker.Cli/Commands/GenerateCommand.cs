using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using GrmWorker.Inference;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm generate --model DIR --prompt TEXT --max-new-tokens N [--greedy | --temperature T --top-p P
/// --top-k K --seed S] [--k N] [--json]`: k samples of one prompt (prefilled once), generated tokens
/// only. Exit codes: 0 done, 1 model/runtime error, 2 bad arguments.
/// </summary>
internal static class GenerateCommand
{
    private static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public sealed record Arguments(
        string ModelDirectory,
        string Prompt,
        int MaxNewTokens,
        bool Greedy,
        float? Temperature,
        float? TopP,
        int? TopK,
        ulong Seed,
        int Samples,
        bool Json,
        int Threads)
    {
        /// <summary>Where the model runs (cuda needs the CUDA build); the KV budget is then 1 GiB, plenty for one prompt.</summary>
        public ExecutionProviderKind ExecutionProvider { get; init; }
    }

    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model directory: the .onnx file, tokenizer.json and grm-config.json.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Prompt text (chat markers, if any, written in it).", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens to generate per sample.", DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "Take the most likely token each step." };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (default 1)." };
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass in (0, 1] (default 1 = off)." };
        var topK = new Option<int?>("--top-k") { Description = "Sample among the K most likely tokens (default 0 = off)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of sample 0; sample i uses seed + i (default 0).", DefaultValueFactory = _ => 0UL };
        var k = new Option<int>("--k") { Description = "Number of samples (the prompt is prefilled once).", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print {\"samples\":[{\"text\":...,\"tokens\":[...]}]}." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var provider = new Option<ExecutionProviderKind>("--execution-provider") { Description = "cpu (default) or cuda (needs the CUDA build)." };
        var command = new Command("generate", "Generate k samples for a prompt with the causal LM (ONNX Runtime).")
        {
            model, prompt, maxNew, greedy, temperature, topP, topK, seed, k, json, threads, provider,
        };
        command.SetAction((ParseResult result, CancellationToken ct) => Task.FromResult(Run(
            new Arguments(
                result.GetValue(model)!, result.GetValue(prompt)!, result.GetValue(maxNew), result.GetValue(greedy),
                result.GetValue(temperature), result.GetValue(topP), result.GetValue(topK), result.GetValue(seed),
                result.GetValue(k), result.GetValue(json), result.GetValue(threads)) { ExecutionProvider = result.GetValue(provider) },
            Console.Out, Console.Error, ct)));
        return command;
    }

    /// <summary>The command's work, callable in-process (tests pass their own writers).</summary>
    public static int Run(Arguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (ValidationError(args) is { } problem)
        {
            stderr.WriteLine($"grm generate: {problem}");
            return 2;
        }
        var sampling = args.Greedy
            ? SamplingOptions.GreedyDecoding
            : new SamplingOptions { Temperature = args.Temperature ?? 1f, TopP = args.TopP ?? 1f, TopK = args.TopK ?? 0 };
        try
        {
            var config = ModelConfig.Load(args.ModelDirectory);
            var tokenizer = Tokenizer.Load(config.TokenizerPath);
            using var model = CausalLm.Load(config, new InferenceOptions
            {
                IntraOpThreads = args.Threads,
                ExecutionProvider = args.ExecutionProvider,
                KvCacheBudget = args.ExecutionProvider == ExecutionProviderKind.Cuda ? 1L << 30 : null,
            });
            var promptIds = tokenizer.Encode(args.Prompt);
            if (config.BosTokenId is { } bos)
            {
                promptIds = [bos, .. promptIds];
            }
            if (promptIds.Length == 0)
            {
                stderr.WriteLine("grm generate: --prompt encodes to no tokens.");
                return 2;
            }
            var job = GenerationJob.Create(promptIds, args.Samples, args.Seed, sampling, args.MaxNewTokens) with { StopStrings = config.StopStrings };
            var generator = new BatchedGenerator(model, GeneratorSettings.From(config), ids => tokenizer.Decode(ids, skipSpecialTokens: true));
            var result = generator.Generate([job], cancellationToken);
            var samples = result.Jobs[0];
            if (args.Json)
            {
                var payload = new { samples = samples.Select(s => new { text = s.Text ?? "", tokens = s.Tokens }) };
                stdout.WriteLine(JsonSerializer.Serialize(payload, OutputJson));
            }
            else
            {
                foreach (var s in samples)
                {
                    if (samples.Count > 1)
                    {
                        stdout.WriteLine($"--- sample {s.SampleIndex} (seed {args.Seed + (ulong)s.SampleIndex}, {s.Tokens.Count} tokens, {s.FinishReason}) ---");
                    }
                    stdout.WriteLine(s.Text);
                }
            }
            return 0;
        }
        catch (Exception ex) when (ex is ModelConfigException or TokenizerFormatException or OrtRuntimeException
                                       or FileNotFoundException or NotSupportedException)
        {
            stderr.WriteLine($"grm generate: {ex.Message}");
            return 1;
        }
    }

    private static string? ValidationError(Arguments a)
    {
        if (a.Greedy && (a.Temperature is not null || a.TopP is not null || a.TopK is not null))
        {
            return "--greedy cannot be combined with --temperature, --top-p or --top-k.";
        }
        if (a.MaxNewTokens < 1)
        {
            return $"--max-new-tokens must be at least 1 (got {a.MaxNewTokens}).";
        }
        if (a.Samples < 1)
        {
            return $"--k must be at least 1 (got {a.Samples}).";
        }
        if (a.Temperature is < 0f or float.NaN)
        {
            return $"--temperature must be >= 0 (got {a.Temperature}).";
        }
        if (a.TopP is <= 0f or > 1f or float.NaN)
        {
            return $"--top-p must be in (0, 1] (got {a.TopP}).";
        }
        if (a.TopK is < 0)
        {
            return $"--top-k must be >= 0 (got {a.TopK}).";
        }
        if (a.Threads < 0)
        {
            return $"--threads must be >= 0 (got {a.Threads}).";
        }
        return null;
    }
}
