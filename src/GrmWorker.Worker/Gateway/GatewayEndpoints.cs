using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GrmWorker.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Gateway;

/// <summary>
/// The gateway's routes: <c>POST /get_reward</c> (OpenRLHF's remote reward protocol), <c>POST /v1/score</c> (our
/// request JSON in, our result JSON out), <c>GET /healthz</c>. 400 names the field, 401 without the bearer token when
/// one is set, 413 over the size limit, 503 while RabbitMQ is unreachable, 504 when the results do not come within
/// <see cref="GatewayOptions.Timeout"/>.
/// </summary>
public static class GatewayEndpoints
{
    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        app.Use(async (context, next) =>
        {
            if (context.Request.Path != "/healthz" && !Authorized(context.Request, options.BearerToken))
            {
                await Error(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "a bearer token is required (Authorization: Bearer ...)").ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapPost("/get_reward", GetRewardAsync);
        app.MapPost("/v1/score", ScoreAsync);
    }

    private static async Task<IResult> GetRewardAsync(HttpRequest request, GatewayBroker broker, IOptions<GatewayOptions> options, IOptions<ValidationLimits> limits, ILogger<GatewayBroker> logger, CancellationToken cancellationToken)
    {
        var (body, bad) = await ReadJsonAsync(request, cancellationToken);
        if (bad is not null) return bad;
        using var document = body!;
        var (groups, problem) = PromptGroups.From(document.RootElement);
        if (problem is not null) return Error(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, problem);
        var jobs = groups!.Select(g => (Group: g, Request: g.ToRequest())).ToList();
        foreach (var (group, job) in jobs)
        {
            if (Refusal(job with { Route = broker.Route }, limits.Value) is { } failure)
                return Error(StatusCodes.Status400BadRequest, failure.Code, $"the job for prompts[{group.FirstIndex}] and its {group.Items.Count} responses: {failure.Message}");
        }

        var timeout = options.Value.Timeout;
        var (results, failed) = await ThroughBrokerAsync(
            () => Task.WhenAll(jobs.Select(j => broker.ScoreAsync(j.Request, timeout, cancellationToken))),
            () =>
            {
                GatewayLog.TimedOut(logger, "/get_reward", jobs[0].Request.RequestId, timeout);
                return Error(StatusCodes.Status504GatewayTimeout, ErrorCodes.Timeout, $"the {jobs.Count} GRM jobs of this call did not all finish within {timeout}; are workers running on the score queue?");
            });
        if (failed is not null) return failed;

        var rewards = new double[document.RootElement.GetProperty("query").GetArrayLength()];
        var samplesUsed = new double[rewards.Length];
        var best = new double[rewards.Length];
        for (var j = 0; j < jobs.Count; j++)
        {
            var (group, job) = jobs[j];
            var result = results![j];
            var scored = result.GetProperty("status").GetString() == ScoreStatus.Scored;
            if (!scored && options.Value.UnscoredReward is null)
                return Error(StatusCodes.Status502BadGateway, ErrorCodes.NotScored, $"the job for prompts[{group.FirstIndex}] ({job.RequestId}) ended {Describe(result)}; set Gateway:UnscoredReward to give such responses a fixed reward instead");
            for (var k = 0; k < group.Items.Count; k++)
            {
                var index = group.Items[k].Index;
                rewards[index] = scored ? result.GetProperty("rewards")[k].GetDouble() : options.Value.UnscoredReward!.Value;
                samplesUsed[index] = result.GetProperty("samplesUsed").GetInt32();
                best[index] = scored && result.GetProperty("best").GetInt32() == k ? 1 : 0;
            }
        }
        return Results.Json(new Dictionary<string, object>
        {
            ["rewards"] = rewards,
            ["scores"] = rewards,
            ["extra_logs"] = new Dictionary<string, double[]> { ["grm_samples_used"] = samplesUsed, ["grm_best"] = best },
        });
    }

    private static async Task<IResult> ScoreAsync(HttpRequest request, GatewayBroker broker, IOptions<GatewayOptions> options, IOptions<ValidationLimits> limits, ILogger<GatewayBroker> logger, CancellationToken cancellationToken)
    {
        var (body, bad) = await ReadJsonAsync(request, cancellationToken);
        if (bad is not null) return bad;
        using var document = body!;
        ScoreRequest? score;
        try
        {
            score = document.RootElement.Deserialize<ScoreRequest>(WireJson.Options);
        }
        catch (JsonException ex)
        {
            var field = ex.Path?.TrimStart('$').TrimStart('.');
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, string.IsNullOrEmpty(field)
                ? "the body must be a JSON object (a score request)"
                : $"{field} has the wrong JSON type or value for a request");
        }
        if (score is null) return Error(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "the body must be a JSON score request");
        if (Refusal(score with { Route = broker.Route }, limits.Value) is { } failure)
            return Error(StatusCodes.Status400BadRequest, failure.Code, failure.Message);
        var (result, failed) = await ThroughBrokerAsync(
            () => broker.ScoreAsync(score, options.Value.Timeout, cancellationToken),
            () =>
            {
                GatewayLog.TimedOut(logger, "/v1/score", score.RequestId, options.Value.Timeout);
                return Error(StatusCodes.Status504GatewayTimeout, ErrorCodes.Timeout,
                    $"no result for {score.RequestId} within {options.Value.Timeout}; send the same requestId again to get its result once stored");
            });
        return failed ?? Results.Json(result);
    }

    /// <summary>
    /// A round trip through the broker and what it can end in besides a value: 503 while RabbitMQ is unreachable (the call
    /// can be retried as it is: a re-sent requestId is never scored twice), or <paramref name="timedOut"/>'s answer.
    /// </summary>
    private static async Task<(T? Value, IResult? Problem)> ThroughBrokerAsync<T>(Func<Task<T>> call, Func<IResult> timedOut)
    {
        try
        {
            return (await call(), null);
        }
        catch (Exception ex) when (Messaging.WorkerResilience.IsTransientBroker(ex) && ex is not TimeoutException)
        {
            return (default, Error(StatusCodes.Status503ServiceUnavailable, ErrorCodes.BrokerUnavailable, $"RabbitMQ is not reachable ({ex.GetType().Name}); retry the call"));
        }
        catch (TimeoutException)
        {
            return (default, timedOut());
        }
    }

    private static async Task<(JsonDocument? Body, IResult? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return (await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { AllowDuplicateProperties = false }, cancellationToken), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Error(StatusCodes.Status413PayloadTooLarge, ErrorCodes.TooLarge, "the body is larger than Gateway:MaxRequestBytes"));
        }
        catch (JsonException ex)
        {
            return (null, Error(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, $"the body is not valid JSON: {Messaging.ErrorQueue.Shorten(ex.Message)}"));
        }
    }

    /// <summary>
    /// Why a job is refused before it is sent, or null: what the worker would reject (limits, choices, text Postgres
    /// cannot store: a NUL, a lone surrogate, bytes that are not UTF-8, metadata jsonb refuses), and a requestId the
    /// worker cannot answer under (it would go to the error queue, and the call wait out its timeout for nothing).
    /// </summary>
    private static ValidationFailure? Refusal(ScoreRequest job, ValidationLimits limits) =>
        ScoreRequestValidator.Validate(job, limits)
        ?? (RequestRules.RequestIdProblem(job.RequestId) is { } unanswerable ? new ValidationFailure(ErrorCodes.InvalidRequest, unanswerable) : null)
        ?? RequestRules.UnstorableField(job);

    private static string Describe(JsonElement result) =>
        result.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
            ? $"{result.GetProperty("status").GetString()}: {error.GetProperty("code").GetString()}: {error.GetProperty("message").GetString()}"
            : result.GetProperty("status").GetString() ?? "unknown";

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);

    private static bool Authorized(HttpRequest request, string token)
    {
        if (string.IsNullOrEmpty(token)) return true;
        var given = request.Headers.Authorization.ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes($"Bearer {token}"));
    }
}
