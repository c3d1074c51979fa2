using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// The scored path without a model (the bundled random model never writes a parsable score line): a round's
/// plan, parsing of generated text in SHOWN order, and the stored record and result in REQUEST order.
/// </summary>
public sealed class JobRunTests
{
    private static readonly int[] RequestScores = [9, 2, 5];

    [Fact]
    public void Samples_share_the_prompt_prefix_and_differ_only_after_it()
    {
        var run = NewRun(kMax: 4);
        var plan = run.PlanRound(Encode)!;

        Assert.Equal(4, plan.Samples.Count);
        Assert.Equal(4, plan.Job.Samples.Count);
        for (var i = 0; i < plan.Samples.Count; i++)
        {
            var full = plan.Samples[i].PromptIds;
            var suffix = plan.Job.Samples[i].SuffixIds ?? [];
            Assert.Equal((IEnumerable<int>)full, [.. plan.Job.PromptIds, .. suffix]);
            Assert.Equal(unchecked((ulong)plan.Samples[i].Seed), plan.Job.Samples[i].Seed);
        }
        // The preamble and query come before the responses, so most of the prompt is shared.
        Assert.True(plan.Job.PromptIds.Count > plan.Samples[0].PromptIds.Length / 2);
    }

    [Fact]
    public void The_same_request_draws_the_same_seeds_and_permutations()
    {
        var a = NewRun(kMax: 4).PlanRound(Encode)!;
        var b = NewRun(kMax: 4).PlanRound(Encode)!;

        Assert.Equal(a.Samples.Select(s => (s.Seed, s.Permutation.ToString())), b.Samples.Select(s => (s.Seed, s.Permutation.ToString())));
    }

    [Fact]
    public void Scores_written_in_shown_order_become_rewards_in_request_order()
    {
        var run = NewRun(kMax: 2);
        var plan = run.PlanRound(Encode)!;
        var generated = plan.Samples.Select((s, i) => new GeneratedSample(0, i, [1, 2, 3], WellFormed(s.Permutation.ToShown(RequestScores)), FinishReason.Eos)).ToList();

        run.Absorb(plan, generated, TimeSpan.FromMilliseconds(12), _ => "");
        var record = JobRowMapping.ToRecord(JobOutcomes.Finished(run, "test-model", DateTimeOffset.UtcNow));

        Assert.Null(run.PlanRound(Encode));
        Assert.True(run.Done);
        Assert.Equal(ScoreStatus.Scored, record.Status);
        Assert.Null(record.ErrorCode);
        Assert.Equal(2, record.SamplesValid);
        Assert.Equal([9.0, 2.0, 5.0], record.Rewards.Select(r => r.Value));
        Assert.Equal([18.0, 4.0, 10.0], record.Rewards.Select(r => r.VoteSum!.Value));
        Assert.All(record.Rewards, r => Assert.Equal("voting", r.Strategy));
        Assert.All(record.Samples, s =>
        {
            Assert.Equal("ok", s.ParseStatus);
            Assert.Equal(RequestScores, s.Scores.OrderBy(x => x.ResponseIndex).Select(x => x.Score));
            Assert.Equal(3, s.Principles.Count);
            Assert.Equal(3, s.GeneratedTokens);
        });
        var result = JsonDocument.Parse(record.ResultJson).RootElement;
        Assert.Equal("scored", result.GetProperty("status").GetString());
        Assert.False(result.TryGetProperty("error", out _));
        Assert.Equal([9.0, 2.0, 5.0], result.GetProperty("rewards").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([18, 4, 10], result.GetProperty("voteSums").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(0, result.GetProperty("best").GetInt32());
        Assert.Equal(7, result.GetProperty("metadata").GetProperty("step").GetInt32());
        Assert.False(result.GetProperty("stoppedEarly").GetBoolean());
    }

    [Fact]
    public void Each_round_is_planned_once_the_rule_has_seen_the_last_one_until_it_wants_no_more()
    {
        var run = NewRun(kMax: 4, kMin: 2, roundSize: 2);

        var first = run.PlanRound(Encode)!;
        run.Absorb(first, WellFormedSamples(first), TimeSpan.Zero, _ => "");
        var second = run.PlanRound(Encode);

        Assert.NotNull(second);
        Assert.False(run.Done);
        Assert.Equal([0, 1], first.Samples.Select(s => s.Index));
        Assert.Equal([2, 3], second.Samples.Select(s => s.Index));
        Assert.False(run.LastDecision!.Stop);
        run.Absorb(second, WellFormedSamples(second), TimeSpan.Zero, _ => "");
        Assert.Null(run.PlanRound(Encode));
        Assert.True(run.Done);
        Assert.Equal(4, run.Samples.Count);
    }

    [Fact]
    public void Text_with_a_NUL_character_is_stored_without_it()
    {
        var run = NewRun(kMax: 1);
        var plan = run.PlanRound(Encode)!;

        run.Absorb(plan, [new GeneratedSample(0, 0, [1], "garbage\0more", FinishReason.MaxNewTokens)], TimeSpan.Zero, _ => "");
        var record = JobRowMapping.ToRecord(JobOutcomes.Finished(run, "test-model", DateTimeOffset.UtcNow));

        Assert.Equal(ScoreStatus.Failed, record.Status);
        Assert.Equal(ErrorCodes.NoValidSamples, record.ErrorCode);
        Assert.DoesNotContain('\0', record.Samples[0].RawText);
        Assert.Equal("missing_scores", record.Samples[0].ParseStatus);
        Assert.Empty(record.Rewards);
    }

    [Fact]
    public void A_job_failed_in_generation_gets_a_failed_result_with_its_code_even_with_valid_samples()
    {
        var run = NewRun(kMax: 4);
        var plan = run.PlanRound(Encode)!;
        run.Absorb(plan, WellFormedSamples(plan), TimeSpan.Zero, _ => "");

        run.Fail(ErrorCodes.GenerationTimeout, "a generation round took longer than 00:05:00");
        var record = JobRowMapping.ToRecord(JobOutcomes.Finished(run, "test-model", DateTimeOffset.UtcNow));

        Assert.True(run.Done);
        Assert.Equal(ScoreStatus.Failed, record.Status);
        Assert.Equal("generation_timeout", record.ErrorCode);
        Assert.Empty(record.Rewards);
        var result = JsonDocument.Parse(record.ResultJson).RootElement;
        Assert.Equal(-1, result.GetProperty("best").GetInt32());
        Assert.Equal("generation_timeout", result.GetProperty("error").GetProperty("code").GetString());
    }

    private static List<GeneratedSample> WellFormedSamples(RoundPlan plan) =>
        [.. plan.Samples.Select((s, i) => new GeneratedSample(0, i, [1], WellFormed(s.Permutation.ToShown(RequestScores)), FinishReason.Eos))];

    private static string WellFormed(int[] shownScores) => $$"""
        Specific Criteria: 1. Correctness (weight 50%). 2. Clarity (30%). 3. Brevity (20%).
        Analysis: Response 1: first. Response 2: second. Response 3: third.
        Scores: \boxed{{{string.Join(", ", shownScores)}}}
        """;

    // A stand-in tokenizer: one id per character, enough for prefix sharing.
    private static int[] Encode(string text) => [.. text.Select(c => (int)c)];

    private static JobRun NewRun(int kMax, int? kMin = null, int? roundSize = null)
    {
        var request = new ScoreRequest
        {
            RequestId = "job-run-test",
            Route = "r",
            Query = "What is 2 + 2?",
            Responses = ["4", "22", "four"],
            Metadata = JsonDocument.Parse("""{"step":7}""").RootElement,
        };
        var rule = StoppingRules.For(StoppingKind.None, new StoppingOptions { KMax = kMax, KMin = kMin ?? kMax, RoundSize = roundSize ?? kMax });
        return new JobRun(new IncomingRequest(request, null, DateTimeOffset.UtcNow), new PromptBuilder(ChatFormat.Plain), rule,
            AggregationKind.Voting, new SamplingOptions { Temperature = 0.5f }, 8, []);
    }
}
