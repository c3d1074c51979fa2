using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Tests;

/// <summary>Settings are validated when the host starts, before anything connects, with messages naming the setting.</summary>
public sealed class WorkerOptionsTests
{
    [Fact]
    public async Task Bad_settings_stop_the_start_with_messages_naming_each_setting()
    {
        using var host = Build(new()
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["RabbitMq:Username"] = "grm",
            ["RabbitMq:Prefetch"] = "4",
            ["Worker:BatchMessageLimit"] = "16",
            ["Worker:DefaultAggregation"] = "meta-rm",
        });

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Contains(failures, f => f.Contains("RabbitMq:Prefetch (4) must be at least Worker:BatchMessageLimit (16)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Worker:DefaultAggregation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_settings_bind_from_the_Resilience_section_and_bad_ones_stop_the_start()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["RabbitMq:Username"] = "grm",
            ["Resilience:MaxRetryAttempts"] = "2",
            ["Resilience:BatchRetryLimit"] = "3",
        };
        using (var good = Build(settings))
        {
            var bound = good.Services.GetRequiredService<IOptions<ResilienceOptions>>().Value;
            Assert.Equal((2, 3), (bound.MaxRetryAttempts, bound.BatchRetryLimit));
            Assert.Equal(new ResilienceOptions().RetryDelay, bound.RetryDelay);
        }
        settings["Resilience:MaxRetryAttempts"] = "0";
        settings["Resilience:RetryMaxDelay"] = "00:00:00.1";
        using var bad = Build(settings);

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => bad.StartAsync()));

        Assert.Contains(failures, f => f.Contains("Resilience:MaxRetryAttempts must be 1..100", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Resilience:RetryMaxDelay must be at least Resilience:RetryDelay", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_settings_that_cannot_work_stop_the_start_naming_the_setting()
    {
        using var withoutTls = Build(new()
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["RabbitMq:Username"] = "grm",
            ["RabbitMq:TlsCaFile"] = "/etc/hostname",
        });
        using var missingCa = Build(new()
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["RabbitMq:Username"] = "grm",
            ["RabbitMq:UseTls"] = "true",
            ["RabbitMq:TlsCaFile"] = "/nonexistent/ca.pem",
        });

        var first = Failures(await Assert.ThrowsAnyAsync<Exception>(() => withoutTls.StartAsync()));
        var second = Failures(await Assert.ThrowsAnyAsync<Exception>(() => missingCa.StartAsync()));

        Assert.Contains(first, f => f.Contains("RabbitMq:TlsCaFile is set but RabbitMq:UseTls is false", StringComparison.Ordinal));
        Assert.Contains(second, f => f.Contains("RabbitMq:TlsCaFile '/nonexistent/ca.pem' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_broker_user_names_its_environment_variable()
    {
        using var host = Build(new() { ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none" });

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Contains(failures, f => f.Contains("GRM_RABBITMQ__USERNAME", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_database_setting_names_its_environment_variable()
    {
        using var host = Build(new() { ["RabbitMq:Username"] = "grm" });

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Contains(failures, f => f.Contains("GRM_POSTGRES__CONNECTIONSTRING", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Model:ContextMargin", "-1", "Model:ContextMargin must be >= 0")]
    [InlineData("Inference:IntraOpThreads", "-1", "Inference:IntraOpThreads must be 0 (default) or positive")]
    [InlineData("Inference:NativeHeapTrimInterval", "-00:00:01", "Inference:NativeHeapTrimInterval must be zero (off) or positive")]
    [InlineData("Inference:ExecutionProvider", "cuda", "Inference:KvCacheBudget (bytes) is required with Inference:ExecutionProvider=cuda")]
    [InlineData("Validation:MaxKMax", "0", "Validation:MaxKMax must be at least 1")]
    [InlineData("Validation:MaxRequestIdLength", "500", "Validation:MaxRequestIdLength must be 1..200")]
    [InlineData("Stopping:KMin", "0", "Stopping: kMin must be 1..kMax")]
    [InlineData("Http:Url", "not a url", "Http:Url must be an absolute URL or empty")]
    [InlineData("Postgres:CommandTimeout", "00:00:00", "Postgres:CommandTimeout must be positive")]
    public async Task Each_settings_section_stops_the_start_naming_its_bad_setting(string key, string value, string expected)
    {
        using var host = Build(new()
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["RabbitMq:Username"] = "grm",
            [key] = value,
        });

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Contains(failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(typeof(WorkerOptions))]
    [InlineData(typeof(RabbitMqOptions))]
    [InlineData(typeof(ResilienceOptions))]
    [InlineData(typeof(ModelOptions))]
    [InlineData(typeof(HttpOptions))]
    [InlineData(typeof(GrmWorker.Worker.Gateway.GatewayOptions))]
    [InlineData(typeof(GrmWorker.Inference.InferenceOptions))]
    [InlineData(typeof(GrmWorker.Storage.StorageOptions))]
    [InlineData(typeof(GrmWorker.Scoring.Stopping.StoppingOptions))]
    [InlineData(typeof(GrmWorker.Contracts.ValidationLimits))]
    public void Every_settings_class_names_its_section_and_lists_its_own_problems(Type settings)
    {
        const System.Reflection.BindingFlags Static = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;

        var section = settings.GetField("Section", Static);
        var problems = settings.GetMethod("Problems", Static);

        Assert.True(section is { IsLiteral: true } && section.FieldType == typeof(string), $"{settings.Name} has no const string Section");
        Assert.True(problems is not null && problems.ReturnType == typeof(IEnumerable<string>), $"{settings.Name} has no static Problems listing its bad settings");
    }

    [Fact]
    public void Environment_variables_with_the_GRM_prefix_bind_to_sections()
    {
        Environment.SetEnvironmentVariable("GRM_WORKER__BATCHMESSAGELIMIT", "7");
        try
        {
            var builder = WorkerHost.CreateBuilder();
            Assert.Equal("7", builder.Configuration["Worker:BatchMessageLimit"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GRM_WORKER__BATCHMESSAGELIMIT", null);
        }
    }

    // One invalid options class throws OptionsValidationException; several throw an AggregateException of them.
    private static List<string> Failures(Exception error) => error switch
    {
        OptionsValidationException o => [.. o.Failures],
        AggregateException a when a.InnerExceptions.Count > 0 => [.. a.InnerExceptions.SelectMany(Failures)],
        _ => throw new InvalidOperationException($"expected options validation errors, got {error}"),
    };

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddGrmWorker(builder.Configuration);
        return builder.Build();
    }
}
