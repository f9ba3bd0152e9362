using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nn.Runtime.Data;

/// <summary>How a feature column of a table becomes numbers.</summary>
internal enum ColumnKind
{
    /// <summary>A number, read as it is.</summary>
    Number,

    /// <summary>Text, one-hot over the vocabulary: one column per known value (scikit-learn's
    /// <c>OneHotEncoder</c>, pandas' <c>get_dummies</c>).</summary>
    Categorical,

    /// <summary>Text, the id 1..V of the value in the vocabulary, 0 for a value never seen (Keras'
    /// <c>StringLookup</c> with one out-of-vocabulary id).</summary>
    Indexed,
}

/// <summary>How empty feature cells are treated (the <c>missing</c> setting of <c>csv</c>).</summary>
internal enum MissingKind
{
    /// <summary>An empty cell is an error (NN0576).</summary>
    Error,

    /// <summary>Filled by the column's mean over the training rows (scikit-learn's
    /// <c>SimpleImputer(strategy='mean')</c>).</summary>
    Mean,

    /// <summary>Filled by a constant (<c>SimpleImputer(strategy='constant')</c>).</summary>
    Constant,
}

/// <summary>The <c>missing</c> setting: its kind and, for <see cref="MissingKind.Constant"/>, the value.</summary>
internal sealed record MissingSpec(MissingKind Kind, float Value = 0f)
{
    /// <summary>Empty cells are errors (the default).</summary>
    public static readonly MissingSpec None = new(MissingKind.Error);
}

/// <summary>
/// One feature column of a table as training learnt it. <see cref="Values"/> is the vocabulary of a text column
/// (sorted by ordinal string order, so it does not depend on the order of the rows). <see cref="Fill"/> is what an
/// empty cell becomes: a number column's mean or constant; for a text column any value means "unknown" (a row of
/// zeros, or id 0); null makes an empty cell an error.
/// </summary>
internal sealed record TableColumn(string Name, ColumnKind Kind, string[] Values, float? Fill)
{
    /// <summary>How many input features the column becomes: one per value for a categorical column, else 1.</summary>
    public int Width => Kind == ColumnKind.Categorical ? Values.Length : 1;

    /// <summary>The 0-based position of <paramref name="value"/> in the vocabulary, or -1.</summary>
    public int Find(string value) =>
        Array.BinarySearch(Values, value, StringComparer.Ordinal) is int i and >= 0 ? i : -1;
}

/// <summary>
/// What a table's feature columns became in training, kept with the weights (metadata <c>table</c> of the checkpoint)
/// so that evaluation and prediction encode new files the same way, as Keras keeps a <c>StringLookup</c>'s vocabulary
/// in the model.
/// </summary>
internal sealed record TableEncoding(IReadOnlyList<TableColumn> Columns)
{
    /// <summary>The metadata key of the encoding in a checkpoint.</summary>
    public const string MetadataKey = "table";

    /// <summary>The number of input features of a row.</summary>
    public int Width => Columns.Sum(c => c.Width);

    /// <summary>The encoding as JSON (the checkpoint's <c>table</c> metadata).</summary>
    public string ToJson()
    {
        var columns = new JsonArray();
        foreach (var c in Columns)
        {
            var o = new JsonObject { ["name"] = c.Name, ["kind"] = c.Kind.ToString().ToLowerInvariant() };
            if (c.Kind != ColumnKind.Number) o["values"] = new JsonArray(c.Values.Select(v => (JsonNode?)v).ToArray());
            if (c.Fill is float f) o["fill"] = (double)f;
            columns.Add((JsonNode)o); // the non-generic Add: the generic one serialises by reflection
        }
        return new JsonObject { ["columns"] = columns }.ToJsonString();
    }

    /// <summary>The encoding written by <see cref="ToJson"/>; <paramref name="path"/> names the checkpoint.</summary>
    /// <exception cref="DataException">NN0577 when the text is not such an encoding</exception>
    public static TableEncoding FromJson(string json, string path)
    {
        DataException Bad(string why) =>
            new(DataErrorCodes.TableBad, path,
                $"{DataException.NameOf(path)}: its `table` record (the vocabulary of the training table) {why}");
        try
        {
            var columns = new List<TableColumn>();
            var array = JsonNode.Parse(json)?["columns"] as JsonArray ?? throw Bad("has no list of columns");
            foreach (var node in array)
            {
                if (node is not JsonObject o) throw Bad("holds a column that is not an object");
                string name = o["name"]?.GetValue<string>() ?? throw Bad("holds a column without a name");
                ColumnKind kind = (o["kind"]?.GetValue<string>()) switch
                {
                    "number" => ColumnKind.Number,
                    "categorical" => ColumnKind.Categorical,
                    "indexed" => ColumnKind.Indexed,
                    var k => throw Bad($"gives the column `{name}` the unknown kind `{k}`"),
                };
                string[] values = (o["values"] as JsonArray)?.Select(v => v?.GetValue<string>() ?? "").ToArray() ?? [];
                if (kind != ColumnKind.Number && values.Length == 0)
                    throw Bad($"gives the text column `{name}` no values");
                if (!values.SequenceEqual(values.Order(StringComparer.Ordinal).Distinct()))
                    throw Bad($"gives the column `{name}` values that are not sorted and distinct");
                float? fill = o["fill"] is JsonNode f ? (float)f.GetValue<double>() : null;
                columns.Add(new TableColumn(name, kind, values, fill));
            }
            return new TableEncoding(columns);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw Bad($"is not valid: {e.Message}");
        }
    }

    /// <summary>One line per column, for <c>nn summary</c>: its kind, width and vocabulary (the first 20 values) or
    /// fill.</summary>
    public IEnumerable<(string Column, string Kind, string Width, string Values)> Describe()
    {
        static string Number(float f) => f.ToString("0.####", CultureInfo.InvariantCulture);
        foreach (var c in Columns)
        {
            string fill = c.Fill is float f
                ? c.Kind == ColumnKind.Number ? $"empty cells: {Number(f)}" : "empty cells: unknown"
                : "";
            var shown = c.Values.Take(20).Select((v, i) => c.Kind == ColumnKind.Indexed ? $"{i + 1} {v}" : v);
            string values = c.Kind == ColumnKind.Number
                ? fill
                : string.Join(", ", shown)
                  + (c.Values.Length > 20 ? $", ... ({c.Values.Length - 20} more)" : "")
                  + (fill.Length > 0 ? $"; {fill}" : "");
            yield return (c.Name, c.Kind.ToString().ToLowerInvariant(), c.Width.ToString(CultureInfo.InvariantCulture),
                          values);
        }
    }
}
