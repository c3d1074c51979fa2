using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Testing;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Tests;

/// <summary>Which meta-RM the worker loads (Model:MetaRmDirectory, grm-config.json metaRm, none) and what that allows.</summary>
public sealed class MetaRmWiringTests : IDisposable
{
    private static readonly string ModelDir = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");
    private static readonly string MetaRmDir = Path.Combine(ModelDir, "meta-rm");
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-meta-wiring-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_setting_loads_the_meta_rm_and_meta_rm_requests_are_planned()
    {
        using var scorer = Scorer(ModelDir, MetaRmDir);

        Assert.NotNull(scorer);
        Assert.Equal("tiny-random-meta-rm-v1", scorer.ModelId);
        Assert.IsType<JobRun>(Pipeline(MetaScorerAvailability.Loaded(scorer)).Prepare(Request("meta-rm")).Run);
    }

    [Fact]
    public void Without_a_meta_rm_a_meta_rm_request_is_unsupported_naming_the_setting()
    {
        var none = MetaScorerAvailability.FromSettings(Options.Create(new ModelOptions { Directory = ModelDir }), Inference);

        Assert.Same(MetaScorerAvailability.None, none);
        Assert.False(none.IsAvailable);
        var failure = Assert.IsType<ValidationFailure>(Pipeline(none).Prepare(Request("meta-rm")).Failure);
        Assert.Equal(ErrorCodes.Unsupported, failure.Code);
        Assert.Contains("Model:MetaRmDirectory", failure.Message, StringComparison.Ordinal);
        Assert.IsType<JobRun>(Pipeline(none).Prepare(Request("voting")).Run);
    }

    [Fact]
    public void An_empty_setting_takes_the_grm_configs_meta_rm_and_none_turns_it_off()
    {
        var modelDir = ModelDirWithMetaRm(MetaRmDir);

        using (var fromConfig = Scorer(modelDir, ""))
            Assert.Equal("tiny-random-meta-rm-v1", fromConfig?.ModelId);
        Assert.Null(Scorer(modelDir, "none"));
    }

    [Fact]
    public void A_meta_rm_directory_that_does_not_load_names_where_it_came_from()
    {
        var missing = Path.Combine(_dir, "no-meta-rm");

        var fromSetting = Assert.Throws<ModelConfigException>(() => Scorer(ModelDir, missing));
        Assert.Contains("Model:MetaRmDirectory", fromSetting.Message, StringComparison.Ordinal);
        Assert.Contains(missing, fromSetting.Message, StringComparison.Ordinal);

        var fromConfig = Assert.Throws<ModelConfigException>(() => Scorer(ModelDirWithMetaRm(missing), ""));
        Assert.Contains("'metaRm'", fromConfig.Message, StringComparison.Ordinal);
        Assert.Contains("Model:MetaRmDirectory=none", fromConfig.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_engine_and_the_scoring_core_agree_on_the_input_format()
    {
        Assert.Equal(MetaRmInput.Version, MetaRmConfig.SupportedInputFormat);
    }

    private static readonly IOptions<InferenceOptions> Inference = Options.Create(new InferenceOptions { IntraOpThreads = 1 });

    private static MetaRmScorer? Scorer(string modelDir, string metaRmDirectory) =>
        MetaRmScorer.Load(Options.Create(new ModelOptions { Directory = modelDir, MetaRmDirectory = metaRmDirectory }), Inference);

    private static ScoringPipeline Pipeline(MetaScorerAvailability metaRm) => new(
        CannedGrmGenerator.Load(ModelDir), Options.Create(new WorkerOptions()), Options.Create(new StoppingOptions()),
        Options.Create(new ValidationLimits()), TimeProvider.System, new WorkerMetrics(), NullLogger<ScoringPipeline>.Instance, metaRm);

    private static IncomingRequest Request(string aggregation) =>
        new(new ScoreRequest { RequestId = "r-1", Query = "q", Responses = ["a", "b"], Aggregation = aggregation }, null, DateTimeOffset.UtcNow);

    /// <summary>A copy of the tiny model's grm-config.json (its files by absolute path) that names <paramref name="metaRm"/>.</summary>
    private string ModelDirWithMetaRm(string metaRm)
    {
        var grm = ModelConfig.Load(ModelDir);
        File.WriteAllText(Path.Combine(_dir, ModelConfig.FileName), System.Text.Json.JsonSerializer.Serialize(new
        {
            modelId = grm.ModelId, modelFile = grm.ModelPath, tokenizerFile = grm.TokenizerPath, contextLength = grm.ContextLength,
            eosTokenIds = grm.EosTokenIds, padTokenId = grm.PadTokenId, metaRm,
        }));
        return _dir;
    }
}
