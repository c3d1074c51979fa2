using System.Text.Json;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// Reads a tokenizer.json into the pieces of a <see cref="Tokenizer"/>. The large model vocab and
/// merges (Gemma 3: 262k tokens, 515k merges) are streamed with a <see cref="Utf8JsonReader"/>
/// without a string per merge; the small sections go through <see cref="JsonDocument"/>.
/// </summary>
internal static class TokenizerLoader
{
    public static Tokenizer Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerFormatException($"Cannot read tokenizer file '{path}': {e.Message}", e);
        }

        var sections = new JsonSections();
        try
        {
            return Build(bytes, sections);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"Tokenizer file '{path}' is not valid JSON: {e.Message}", e);
        }
        catch (TokenizerFormatException e)
        {
            throw new TokenizerFormatException($"Tokenizer file '{path}': {e.Message}", e);
        }
        finally
        {
            sections.Dispose();
        }
    }

    private static Tokenizer Build(byte[] bytes, JsonSections root)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip });
        BpeModel? model = null;
        ReadObject(ref reader, "$", (ref Utf8JsonReader r, string name) =>
        {
            if (name == "model")
            {
                model = ReadModel(ref r);
            }
            else
            {
                root.Add(name, ref r);
            }
        });
        if (reader.Read())
        {
            throw JsonField.Error("$", "has content after the top-level object");
        }

        var normalizer = Normalizers.Create(root.Get("normalizer", "$"));
        if (model is null)
        {
            throw JsonField.Error("$.model", "is missing");
        }

        var added = new AddedVocabulary(ReadAddedTokens(root.Get("added_tokens", "$")), model, normalizer);
        return new Tokenizer(
            model,
            added,
            normalizer,
            PreTokenizers.Create(root.Get("pre_tokenizer", "$")),
            PostProcessors.Create(root.Get("post_processor", "$")),
            Decoders.Create(root.Get("decoder", "$")));
    }

    private delegate void PropertyHandler(ref Utf8JsonReader reader, string name);

    /// <summary>Calls <paramref name="handler"/> with the reader on each property's value; the
    /// handler must consume the whole value.</summary>
    private static void ReadObject(ref Utf8JsonReader reader, string path, PropertyHandler handler)
    {
        if (!reader.Read() && reader.TokenType == JsonTokenType.None)
        {
            throw JsonField.Error(path, "is empty");
        }

        if (reader.TokenType == JsonTokenType.Null && path != "$")
        {
            throw JsonField.Error(path, "is missing");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw JsonField.Error(path, $"must be an object, found {reader.TokenType}");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            handler(ref reader, name);
        }
    }

    private static List<AddedToken> ReadAddedTokens(JsonField json) =>
        json.IsNull
            ? []
            : json.Items().Select(t =>
            {
                var special = t.Optional("special").GetBool(false);
                return new AddedToken(
                    t.Required("content").GetString(),
                    special,
                    t.Optional("single_word").GetBool(false),
                    t.Optional("lstrip").GetBool(false),
                    t.Optional("rstrip").GetBool(false),
                    t.Optional("normalized").GetBool(!special));
            }).ToList();

    private static BpeModel ReadModel(ref Utf8JsonReader reader)
    {
        using var fields = new JsonSections();
        Dictionary<string, int>? vocab = null;
        Dictionary<long, BpeMerge>? merges = null;
        var prefixLengthUsed = 0;
        ReadObject(ref reader, "$.model", (ref Utf8JsonReader r, string name) =>
        {
            if (name == "vocab")
            {
                vocab = BpeVocabReader.ReadVocab(ref r);
            }
            else if (name == "merges" && vocab is not null)
            {
                // HF writes the options, then vocab, then merges: stream them (the common case).
                prefixLengthUsed = PrefixLength(fields);
                merges = BpeVocabReader.ReadMerges(ref r, vocab, prefixLengthUsed);
            }
            else
            {
                fields.Add(name, ref r);
            }
        });

        var type = fields.Get("type", "$.model").GetStringOrNull() ?? "BPE";
        if (type != "BPE")
        {
            throw JsonField.Error("$.model.type", $"'{type}' is not supported (only BPE models are)");
        }

        var dropout = fields.Get("dropout", "$.model");
        if (dropout.Kind == JsonValueKind.Number && dropout.Element.GetDouble() > 0)
        {
            throw JsonField.Error("$.model.dropout", "must be null or 0: BPE dropout is random and not supported");
        }

        if (vocab is null)
        {
            throw JsonField.Error("$.model.vocab", "is missing");
        }

        var options = new BpeOptions(
            fields.Get("unk_token", "$.model").GetStringOrNull(),
            fields.Get("fuse_unk", "$.model").GetBool(false),
            fields.Get("byte_fallback", "$.model").GetBool(false),
            fields.Get("ignore_merges", "$.model").GetBool(false),
            fields.Get("continuing_subword_prefix", "$.model").GetStringOrNull(),
            fields.Get("end_of_word_suffix", "$.model").GetStringOrNull());
        if (merges is not null && prefixLengthUsed != PrefixLength(fields))
        {
            throw JsonField.Error("$.model.continuing_subword_prefix", "must come before merges");
        }

        // Merges before vocab (not HF's order): read them from the buffered section.
        merges ??= fields.Has("merges") ? BpeVocabReader.ReadMerges(fields.RawUtf8("merges"), vocab, PrefixLength(fields)) : [];
        return new BpeModel(vocab, merges, options);
    }

    private static int PrefixLength(JsonSections fields) =>
        fields.Get("continuing_subword_prefix", "$.model").GetStringOrNull()?.Length ?? 0;
}
