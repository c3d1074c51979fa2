using GrmWorker.App.Messaging;
using GrmWorker.App.Pipeline;
using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Storage;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrmWorker.App.Hosting;

/// <summary>The worker's wiring, one extension per concern; `grm serve` and the tests both call <see cref="AddGrmWorker"/>.</summary>
public static class WorkerServiceCollectionExtensions
{
    public const string ValidationSection = "Validation";
    public const string StoppingSection = "Stopping";

    /// <summary>Storage + migrations at start, the model and scoring pipeline, and the bus. Order matters: hosted services start in it.</summary>
    public static IServiceCollection AddGrmWorker(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WorkerReadiness>();
        services.TryAddSingleton<WorkerMetrics>();
        services.AddGrmStorage(configuration.GetSection(StorageOptions.Section));
        services.AddHostedService<MigrationHostedService>();
        services.AddGrmScoring(configuration);
        services.AddGrmMessaging(configuration);
        services.AddGrmHttpEndpoints(configuration);
        return services;
    }

    /// <summary>/healthz, /readyz and /metrics on <see cref="HttpOptions.Url"/>.</summary>
    public static IServiceCollection AddGrmHttpEndpoints(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HttpOptions>().Bind(configuration.GetSection(HttpOptions.Section))
            .Validate(o => string.IsNullOrWhiteSpace(o.Url) || Uri.TryCreate(o.Url, UriKind.Absolute, out _), $"{HttpOptions.Section}:Url must be an absolute URL or empty")
            .ValidateOnStart();
        services.AddSingleton<HttpEndpointsHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpEndpointsHostedService>());
        return services;
    }

    /// <summary>Model, inference, stopping and validation settings, the engine (loaded at start) and the pipeline.</summary>
    public static IServiceCollection AddGrmScoring(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(ModelOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Directory), $"{ModelOptions.Section}:Directory is required")
            .Validate(o => o.ContextMargin >= 0, $"{ModelOptions.Section}:ContextMargin must be >= 0")
            .ValidateOnStart();
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection(InferenceOptions.SectionName))
            .Validate(o => o.IntraOpThreads >= 0 && o.InterOpThreads >= 0 && o.CudaDeviceId >= 0,
                $"{InferenceOptions.SectionName}: IntraOpThreads, InterOpThreads and CudaDeviceId must be >= 0")
            .Validate(o => o.KvCacheBudget is null or > 0, $"{InferenceOptions.SectionName}:KvCacheBudget must be a positive number of bytes, or unset")
            .Validate(o => o.ExecutionProvider != ExecutionProviderKind.Cuda || o.KvCacheBudget is not null || o.CudaProviderOptions.ContainsKey("gpu_mem_limit"),
                $"{InferenceOptions.SectionName}:KvCacheBudget (bytes) is required with {InferenceOptions.SectionName}:ExecutionProvider=cuda, unless {InferenceOptions.SectionName}:CudaProviderOptions:gpu_mem_limit is set")
            .ValidateOnStart();
        services.AddStoppingOptions(configuration);
        services.AddOptions<ValidationLimits>().Bind(configuration.GetSection(ValidationSection))
            .Validate(o => o.MaxResponses >= 1 && o.MaxKMax >= 1 && o.MaxNewTokensLimit >= 1, $"{ValidationSection}: limits must be positive")
            .ValidateOnStart();
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section)).ValidateOnStart();
        // The prefetch is read from configuration, not IOptions<RabbitMqOptions>: that would throw RabbitMq's own
        // validation errors here and hide the worker's.
        var rabbitSection = configuration.GetSection(RabbitMqOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>>(
            new ProblemsValidator<WorkerOptions>(o => WorkerOptions.Problems(o, (rabbitSection.Get<RabbitMqOptions>() ?? new RabbitMqOptions()).Prefetch))));
        services.AddSingleton<GrmEngine>();
        // The model by default; benchmarks and tests replace this with a canned one (tests/GrmWorker.Testing).
        services.TryAddSingleton<IGrmGenerator>(sp => sp.GetRequiredService<GrmEngine>());
        // The meta-RM of Model:MetaRmDirectory (or grm-config.json's metaRm), or none; loaded at start with the model.
        services.TryAddSingleton(sp => MetaScorerAvailability.FromSettings(
            sp.GetRequiredService<IOptions<ModelOptions>>(), sp.GetRequiredService<IOptions<InferenceOptions>>()));
        services.AddSingleton<ScoringPipeline>();
        services.AddHostedService<ModelLoaderHostedService>();
        return services;
    }

    /// <summary>
    /// <see cref="StoppingOptions"/>: the built-in defaults, then the prior fitted to the model (its grm-config.json
    /// <c>stopping</c> section; <see cref="StoppingOptionsFactory"/>), then the <c>Stopping</c> settings.
    /// </summary>
    public static IServiceCollection AddStoppingOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Reads Model:Directory through IOptions<ModelOptions>, which the caller binds (AddGrmScoring does).
        services.AddTransient<IOptionsFactory<StoppingOptions>, StoppingOptionsFactory>();
        services.AddOptions<StoppingOptions>().Bind(configuration.GetSection(StoppingSection))
            .Validate(o => o.Validate() is null, $"{StoppingSection}: invalid stopping settings (kMin 1..kMax, roundSize >= 1, errorBound in [0, 1))")
            .ValidateOnStart();
        return services;
    }

    /// <summary>RabbitMQ settings, the result publisher and MassTransit with the <c>grm.score</c> batch endpoint.</summary>
    public static IServiceCollection AddGrmMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<RabbitMqOptions>().Bind(configuration.GetSection(RabbitMqOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RabbitMqOptions>>(new ProblemsValidator<RabbitMqOptions>(RabbitMqOptions.Problems)));
        services.AddSingleton<ResultPublisher>();
        services.AddJobService(configuration);
        services.AddSingleton<InFlightRequests>();
        services.AddSingleton<MalformedRequestRejecter>();
        services.AddSingleton<ErrorQueue>();
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromMinutes(2);
        });
        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<ScoreBatchConsumer, ScoreBatchConsumerDefinition>();
            bus.UsingRabbitMq((context, cfg) =>
            {
                var o = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                cfg.Host(o.Host, (ushort)o.Port, o.VirtualHost, "grm-worker", h =>
                {
                    h.Username(o.Username);
                    h.Password(o.Password);
                    if (o.UseTls)
                    {
                        h.UseSsl(s =>
                        {
                            s.ServerName = o.ServerName;
                            if (BrokerTls.Validation(o) is { } validate) s.CertificateValidationCallback = validate;
                        });
                    }
                });
                // A key given twice is refused (the last would silently win): such a body gets a rejected result
                // naming the key (MalformedRequestRejecter).
                cfg.ConfigureJsonSerializerOptions(json =>
                {
                    json.AllowDuplicateProperties = false;
                    return json;
                });
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }

    /// <summary>
    /// <see cref="JobService"/> and what it needs beyond storage and scoring (retry pipelines and their <c>Resilience</c>
    /// settings, this process's claim identity): the worker, <c>relabel --local</c> and <c>grm score</c> score through it.
    /// </summary>
    public static IServiceCollection AddJobService(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ResilienceOptions>().Bind(configuration.GetSection(ResilienceOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResilienceOptions>>(new ProblemsValidator<ResilienceOptions>(ResilienceOptions.Problems)));
        services.TryAddSingleton<WorkerResilience>();
        services.TryAddSingleton<WorkerIdentity>();
        services.TryAddSingleton<JobService>();
        return services;
    }

    /// <summary>An options class's own list of problems (its static <c>Problems</c>) as an options validator: all of them, named.</summary>
    private sealed class ProblemsValidator<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var found = problems(options).ToList();
            return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
        }
    }
}
