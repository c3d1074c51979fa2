using System.Text.Json;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Inference.Tests.Tokenization;

/// <summary>The pieces on tiny handmade tokenizer.json files.</summary>
public sealed class TokenizerUnitTests
{
    [Fact]
    public void Merges_apply_lowest_rank_first_in_both_merge_forms()
    {
        var vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["c"] = 2, ["ab"] = 3, ["bc"] = 4 };

        var bcFirst = Load(Bpe(vocab, merges: new[] { "b c", "a b" }));
        var abFirst = Load(Bpe(vocab, merges: new[] { new[] { "a", "b" }, new[] { "b", "c" } }));

        Assert.Equal([0, 4], bcFirst.Encode("abc"));
        Assert.Equal([3, 2], abFirst.Encode("abc"));
        // Without a decoder HF joins the tokens with spaces.
        Assert.Equal("ab c", abFirst.Decode([3, 2]));
    }

    [Fact]
    public void Ignore_merges_takes_a_whole_word_from_the_vocabulary()
    {
        var vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["c"] = 2, ["bc"] = 3, ["abc"] = 4 };

        var merging = Load(Bpe(vocab, merges: new[] { "b c" }));
        var ignoring = Load(Bpe(vocab, merges: new[] { "b c" }, extra: """ "ignore_merges": true, """));

        Assert.Equal([0, 3], merging.Encode("abc"));
        Assert.Equal([4], ignoring.Encode("abc"));
    }

    [Fact]
    public void Byte_fallback_spells_unknown_characters_as_UTF8_byte_tokens()
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = 0, ["a"] = 1, ["<0xC3>"] = 2, ["<0xA9>"] = 3 };
        var tokenizer = Load(Bpe(vocab, merges: Array.Empty<string>(), extra: """ "unk_token": "<unk>", "byte_fallback": true, """,
            decoder: """{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}"""));

        Assert.Equal([1, 2, 3, 1], tokenizer.Encode("aéa"));
        Assert.Equal("aéa", tokenizer.Decode([1, 2, 3, 1]));
        Assert.Equal("a\uFFFD", tokenizer.Decode([1, 2]));
        // 'ü' is C3 BC: <0xBC> is missing, so the whole character is unknown.
        Assert.Equal([1, 0], tokenizer.Encode("aü"));
    }

    [Fact]
    public void Unknown_characters_fuse_only_when_fuse_unk_is_set()
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = 0, ["a"] = 1 };

        var fused = Load(Bpe(vocab, merges: Array.Empty<string>(), extra: """ "unk_token": "<unk>", "fuse_unk": true, """));
        var separate = Load(Bpe(vocab, merges: Array.Empty<string>(), extra: """ "unk_token": "<unk>", "fuse_unk": false, """));

        Assert.Equal([1, 0, 1], fused.Encode("axya"));
        Assert.Equal([1, 0, 0, 1], separate.Encode("axya"));
    }

    [Fact]
    public void Added_tokens_split_leftmost_longest_before_normalization()
    {
        var vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["<"] = 2, [">"] = 3, ["x"] = 4 };
        var added = """
            [{"id": 5, "content": "<x>", "special": true, "normalized": false},
             {"id": 6, "content": "<x><x>", "special": false, "normalized": false}]
            """;
        var tokenizer = Load(Bpe(vocab, merges: Array.Empty<string>(), added: added, decoder: """{"type": "Fuse"}"""));

        Assert.Equal([0, 6, 5, 1], tokenizer.Encode("a<x><x><x>b"));
        Assert.Equal([2, 4, 0], tokenizer.Encode("<xa"));
        Assert.Equal("a<x><x>b", tokenizer.Decode([0, 6, 5, 1], skipSpecialTokens: true));
        Assert.Equal("a<x><x><x>b", tokenizer.Decode([0, 6, 5, 1]));
        Assert.Equal(5, tokenizer.TokenToId("<x>"));
        Assert.Equal("<x><x>", tokenizer.IdToToken(6));
        Assert.Equal(7, tokenizer.VocabSize);
    }

    [Fact]
    public void Post_processor_adds_the_template_special_tokens_only_when_asked()
    {
        var vocab = new Dictionary<string, int> { ["<bos>"] = 0, ["a"] = 1 };
        var template = """
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "special_tokens": {"<bos>": {"id": "<bos>", "ids": [0], "tokens": ["<bos>"]}}}
            """;
        var tokenizer = Load(Bpe(vocab, merges: Array.Empty<string>(), postProcessor: template, decoder: """{"type": "Fuse"}""",
            added: """[{"id": 0, "content": "<bos>", "special": true, "normalized": false}]"""));

        Assert.Equal([1, 1], tokenizer.Encode("aa"));
        Assert.Equal([0, 1, 1], tokenizer.Encode("aa", addSpecialTokens: true));
        Assert.Equal("aa", tokenizer.Decode([0, 1, 1], skipSpecialTokens: true));
    }

    [Fact]
    public void NFC_composes_combining_marks_and_Hangul_jamo()
    {
        var nfc = new UnicodeNormalizer(compose: true);

        Assert.Equal("\u00e9", nfc.Normalize("e\u0301"));
        Assert.Equal("\u00c5\u00c5", nfc.Normalize("A\u030a\u212b"));
        Assert.Equal("\uac01", nfc.Normalize("\u1100\u1161\u11a8"));
        Assert.Equal("\u1ead", nfc.Normalize("a\u0323\u0302"));
        Assert.Equal("\u1ead", nfc.Normalize("a\u0302\u0323"));
    }

    [Fact]
    public void Regex_sees_astral_characters_as_one_code_point()
    {
        var regex = new CodePointRegex(@"[^\s\p{L}]?\p{L}+|\p{N}");
        var matches = new List<(int Start, int End)>();

        regex.FindMatches("😀ab 𝐇𝐞y 𝟏", matches);

        // 😀 joins the letters after it, 𝐇𝐞y is one word of letters and 𝟏 is a digit, as in Oniguruma.
        Assert.Equal([(0, 4), (5, 10), (11, 13)], matches);
    }

    [Theory]
    [InlineData("{ not json", "is not valid JSON")]
    [InlineData("""{"added_tokens": []}""", "$.model is missing")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}""", "$.model.merges[0]")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {}}}""", "$.model.type")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}""", "$.model.vocab[\"a\"]")]
    [InlineData("""{"pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}""", "pre_tokenizer 'Whitespace' is not supported")]
    [InlineData("""{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}""", "$.pre_tokenizer.pattern.Regex")]
    public void Malformed_tokenizer_json_names_the_file_and_the_field(string json, string expected)
    {
        var path = TokenizerFiles.WriteTemp(json);
        try
        {
            var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.Load(path));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_file_is_a_format_error_naming_the_path()
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.Load("/nonexistent/tokenizer.json"));

        Assert.Contains("/nonexistent/tokenizer.json", error.Message, StringComparison.Ordinal);
    }

    private static Tokenizer Load(string json)
    {
        var path = TokenizerFiles.WriteTemp(json);
        try
        {
            return Tokenizer.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Bpe(
        Dictionary<string, int> vocab,
        object merges,
        string extra = "",
        string added = "[]",
        string decoder = "null",
        string postProcessor = "null") => $$"""
        {
          "added_tokens": {{added}},
          "normalizer": null,
          "pre_tokenizer": null,
          "post_processor": {{postProcessor}},
          "decoder": {{decoder}},
          "model": { "type": "BPE", {{extra}} "vocab": {{JsonSerializer.Serialize(vocab)}}, "merges": {{JsonSerializer.Serialize(merges)}} }
        }
        """;
}
