using System.Text;
using System.Text.Json;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Inference.Tests.Tokenization;

/// <summary>
/// Our tokenizer against the Hugging Face Rust tokenizer, run by node in the test, on the parity
/// corpus (tools/tokenizer-parity/make-corpus.js): ids with and without special tokens, decoded
/// text, decoding with special tokens skipped and decoding a prefix that may cut a character.
/// </summary>
public sealed class TokenizerParityTests
{
    private static readonly Lazy<string> VariantDir = new(ReferenceTokenizer.WriteVariants);

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("deepseek_v3")]
    [InlineData("gemma3")]
    [InlineData("tiny-random")]
    public void Encode_and_decode_match_the_Rust_tokenizer_on_the_corpus(string name) =>
        AssertParity(name, TokenizerFiles.Real(name));

    /// <summary>Variants of the real files (tools/tokenizer-parity/make-variants.js) for the
    /// components the real files do not use.</summary>
    [Theory]
    [InlineData("bytelevel-regex-prefix")]
    [InlineData("split-behaviors")]
    [InlineData("digits-individual")]
    [InlineData("added-token-flags")]
    [InlineData("metaspace-decoder")]
    public void Variants_match_the_Rust_tokenizer_on_the_corpus(string variant) =>
        AssertParity(variant, Path.Combine(VariantDir.Value, $"{variant}.json"));

    private static void AssertParity(string name, string path)
    {
        var corpus = File.ReadLines(TokenizerFiles.Corpus).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<string>(l)!).ToList();
        Assert.True(corpus.Count >= 2000, $"the parity corpus has only {corpus.Count} strings");

        var (vocabSize, reference) = ReferenceTokenizer.Run(TokenizerFiles.Corpus, path);
        var tokenizer = Tokenizer.Load(path);

        Assert.Equal(corpus.Count, reference.Count);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        var failures = new StringBuilder();
        var failed = 0;
        for (var i = 0; i < corpus.Count; i++)
        {
            var problem = Compare(tokenizer, corpus[i], reference[i]);
            if (problem is not null && failed++ < 5)
            {
                failures.AppendLine($"#{i} {JsonSerializer.Serialize(corpus[i])}: {problem}");
            }
        }

        Assert.True(failed == 0, $"{name}: {failed} of {corpus.Count} strings differ from the Rust tokenizer; first ones:\n{failures}");
    }

    private static string? Compare(Tokenizer tokenizer, string text, ReferenceResult expected)
    {
        var ids = tokenizer.Encode(text);
        if (!ids.SequenceEqual(expected.Ids))
        {
            return $"ids\n  rust [{string.Join(',', expected.Ids)}]\n  ours [{string.Join(',', ids)}]";
        }

        var idsSpecial = tokenizer.Encode(text, addSpecialTokens: true);
        if (!idsSpecial.SequenceEqual(expected.IdsSpecial))
        {
            return $"ids with special tokens\n  rust [{string.Join(',', expected.IdsSpecial)}]\n  ours [{string.Join(',', idsSpecial)}]";
        }

        return Differs("decode", expected.Decoded, tokenizer.Decode(ids))
            ?? Differs("decode skipping special tokens", expected.DecodedSkip, tokenizer.Decode(idsSpecial, skipSpecialTokens: true))
            ?? Differs("decode of the first half", expected.DecodedHalf, tokenizer.Decode(ids.AsSpan(0, ids.Length / 2)));
    }

    private static string? Differs(string what, string expected, string actual) =>
        expected == actual ? null : $"{what}\n  rust {JsonSerializer.Serialize(expected)}\n  ours {JsonSerializer.Serialize(actual)}";
}
