using System.Globalization;
using System.Text;

namespace Nn.Runtime.Data;

/// <summary>A column of a CSV file, named by its header text or by its 0-based position.</summary>
internal sealed record ColumnRef
{
    /// <summary>The header name, or null when the column is given by position.</summary>
    public string? Name { get; }

    /// <summary>The 0-based position, or -1 when the column is given by name.</summary>
    public int Index { get; }

    private ColumnRef(string? name, int index) { Name = name; Index = index; }

    /// <summary>The column whose header is <paramref name="name"/> (the first one, if several are).</summary>
    public static ColumnRef ByName(string name) => new(name ?? throw new ArgumentNullException(nameof(name)), -1);

    /// <summary>The column at 0-based position <paramref name="index"/>.</summary>
    public static ColumnRef ByIndex(int index) =>
        index >= 0
            ? new(null, index)
            : throw new ArgumentOutOfRangeException(nameof(index), "a column index is 0 or more");

    /// <summary>As written in a program: <c>"species"</c> or <c>4</c>.</summary>
    public override string ToString() => Name is null ? Index.ToString(CultureInfo.InvariantCulture) : $"\"{Name}\"";
}

/// <summary>
/// Which columns of a CSV file to read. <see cref="Features"/> null means every column that is not the label
/// or a target. <see cref="Label"/> is a class label column: text labels become class indices in order of
/// first appearance; numeric labels are used as they are. <see cref="Targets"/> are numeric regression targets.
/// With <see cref="RequireFinite"/> a cell that is NaN, infinite or too large for float32 is an error (NN0542), as
/// training needs it; otherwise it is read as NaN or ±infinity, as pandas reads it.
/// </summary>
/// <param name="Features">the input columns, in order (null: all other columns)</param>
/// <param name="Label">the class label column, or null</param>
/// <param name="Targets">numeric target columns (for regression), or null</param>
/// <param name="RequireFinite">whether a NaN, infinite or overflowing number in a column read is an error</param>
/// <param name="Categorical">text feature columns to one-hot encode (see <see cref="CsvTable"/>)</param>
/// <param name="Indexed">text feature columns to map to ids 1..V (0: never seen)</param>
/// <param name="Missing">how empty feature cells are filled (null: they are errors)</param>
/// <param name="Known">an encoding learnt before (kept with the weights): it names the feature columns and
/// replaces <see cref="Features"/>, <see cref="Categorical"/>, <see cref="Indexed"/> and <see cref="Missing"/></param>
/// <param name="TrainingRows">given the number of data rows, which of them are training rows (the means of
/// <c>missing = mean</c> are taken over those); null: all</param>
internal sealed record CsvSpec(IReadOnlyList<ColumnRef>? Features = null, ColumnRef? Label = null,
                             IReadOnlyList<ColumnRef>? Targets = null, bool RequireFinite = false,
                             IReadOnlyList<ColumnRef>? Categorical = null, IReadOnlyList<ColumnRef>? Indexed = null,
                             MissingSpec? Missing = null, TableEncoding? Known = null,
                             Func<int, bool[]>? TrainingRows = null)
{
    /// <summary>Whether the feature columns need an encoding (text columns, a fill, or a known encoding).</summary>
    public bool Encoded =>
        Categorical is { Count: > 0 } || Indexed is { Count: > 0 } || Known is not null
        || (Missing is not null && Missing.Kind != MissingKind.Error);
}

/// <summary>Reads datasets from CSV files with a header row, and writes tables and predictions.</summary>
internal static class Csv
{
    /// <summary>
    /// Reads a dataset. Features are [N, features] float32 parsed with the invariant culture. With a label column
    /// the targets are [N] class indices and <see cref="Dataset.ClassNames"/> holds the class names (text labels,
    /// by first appearance) or "0".."max" (whole-number labels); other numeric labels are kept as they are with no
    /// class names. With target columns the targets are [N, targets]. The file may be gzip-compressed.
    /// </summary>
    /// <exception cref="DataException">NN0501–NN0503 file problems; NN0520 empty; NN0521 ragged row; NN0522 not a
    /// number; NN0523 unknown column; NN0524 unclosed quote; NN0525 no data rows; NN0526 a NUL byte; NN0540 negative
    /// or fractional labels mixed with text; NN0542 (with <see cref="CsvSpec.RequireFinite"/>) NaN, infinite or
    /// overflowing numbers</exception>
    public static Dataset Read(string path, CsvSpec spec) => ReadTable(path, spec).Data;

    /// <summary>As <see cref="Read"/>, with the encoding of the feature columns when <see cref="CsvSpec.Encoded"/>:
    /// learnt from the file, or <see cref="CsvSpec.Known"/> applied to it (see <see cref="CsvTable"/>).</summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0575 an unseen categorical value; NN0576 an empty
    /// cell without <see cref="CsvSpec.Missing"/>; NN0578 a text column that is not a feature or is both
    /// kinds</exception>
    public static TableData ReadTable(string path, CsvSpec spec)
    {
        string name = DataException.NameOf(path);
        byte[] bytes = FileBytes.Read(path);
        var records = CsvParser.Parse(new UTF8Encoding(false, false).GetString(bytes), path);
        if (records.Count == 0)
            throw new DataException(DataErrorCodes.CsvEmpty, path,
                $"{name}: the file is empty; expected a header row naming the columns");
        string[] header = records[0].Fields;
        if (records.Count == 1)
            throw new DataException(DataErrorCodes.CsvNoRows, path,
                $"{name}: the file has a header row but no data rows", row: 1);

        int? label = spec.Label is null ? null : Resolve(spec.Label, header, path);
        int[] targets = spec.Targets?.Select(c => Resolve(c, header, path)).ToArray() ?? [];
        var featureRefs = spec.Known?.Columns.Select(c => ColumnRef.ByName(c.Name)).ToList() ?? spec.Features;
        int[] features = featureRefs is null
            ? Enumerable.Range(0, header.Length).Where(c => c != label && !targets.Contains(c)).ToArray()
            : featureRefs.Select(c => Resolve(c, header, path)).ToArray();

        int n = records.Count - 1;
        foreach (var r in records.Skip(1))
            if (r.Fields.Length != header.Length)
                throw new DataException(DataErrorCodes.CsvRagged, path,
                    $"{name} row {r.Line}: {r.Fields.Length} {(r.Fields.Length == 1 ? "field" : "fields")}, " +
                    $"expected {header.Length} as in the header",
                    row: r.Line);

        TableEncoding? encoding = null;
        HostTensor featureTensor;
        if (spec.Encoded)
        {
            int[] Columns(IReadOnlyList<ColumnRef>? refs) =>
                refs?.Select(c => Resolve(c, header, path)).ToArray() ?? [];
            encoding = spec.Known
                       ?? CsvTable.Learn(records, header, features, Columns(spec.Categorical), Columns(spec.Indexed),
                                         spec.Missing ?? MissingSpec.None, spec.TrainingRows?.Invoke(n), path,
                                         spec.RequireFinite);
            featureTensor = CsvTable.Encode(records, header, features, encoding, path, spec.RequireFinite);
        }
        else
        {
            var x = new float[n * features.Length];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < features.Length; j++)
                    x[i * features.Length + j] = Number(records[i + 1], features[j], header, path, spec.RequireFinite);
            featureTensor = new HostTensor([n, features.Length], x);
        }

        if (label is int l)
            return new(WithLabels(featureTensor, records, l, header, path, spec.RequireFinite), encoding);
        if (targets.Length > 0)
        {
            var y = new float[n * targets.Length];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < targets.Length; j++)
                    y[i * targets.Length + j] =
                        Number(records[i + 1], targets[j], header, path, spec.RequireFinite, target: true);
            return new(new Dataset(featureTensor, new HostTensor([n, targets.Length], y)), encoding);
        }
        return new(new Dataset(featureTensor, null), encoding);
    }

    private static Dataset WithLabels(HostTensor features, List<CsvRecord> records, int column, string[] header,
                                      string path, bool requireFinite)
    {
        int n = records.Count - 1;
        var y = new float[n];
        bool numeric = true;
        for (int i = 0; i < n && numeric; i++)
            numeric = TryNumber(records[i + 1].Fields[column], out y[i]);
        if (numeric)
        {
            if (requireFinite)
                for (int i = 0; i < n; i++)
                    if (!float.IsFinite(y[i])) throw NotFinite(records[i + 1], column, header, path);
            bool whole = y.All(v => v >= 0 && v == MathF.Floor(v) && v < 1e6f);
            string[]? names = whole && n > 0
                ? Enumerable.Range(0, (int)y.Max() + 1).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray()
                : null;
            return new Dataset(features, new HostTensor([n], y), names);
        }
        var classes = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < n; i++)
        {
            string text = records[i + 1].Fields[column];
            if (!classes.TryGetValue(text, out int c)) { c = order.Count; classes[text] = c; order.Add(text); }
            y[i] = c;
        }
        return new Dataset(features, new HostTensor([n], y), order.ToArray());
    }

    // float.TryParse reads NaN, Infinity and overflows (1e39 becomes infinity) in any case; Inf and ∞ are read the
    // same way, as numpy does.
    internal static bool TryNumber(string text, out float value)
    {
        if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        var t = text.AsSpan().Trim();
        bool negative = t.Length > 0 && t[0] == '-';
        if (t.Length > 0 && t[0] is '-' or '+') t = t[1..];
        if (!(t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t.SequenceEqual("∞"))) return false;
        value = negative ? float.NegativeInfinity : float.PositiveInfinity;
        return true;
    }

    /// <summary>The number in a cell; an empty feature cell (not <paramref name="target"/>) is NN0576, as the
    /// <c>missing</c> setting fills those.</summary>
    internal static float Number(CsvRecord r, int column, string[] header, string path, bool requireFinite,
                                 bool target = false)
    {
        string text = r.Fields[column];
        if (TryNumber(text, out float v))
            return !requireFinite || float.IsFinite(v) ? v : throw NotFinite(r, column, header, path);
        if (text.Length == 0 && !target)
            throw CsvTable.Empty(r, column, header, path);
        string what = text.Length == 0 ? "the cell is empty, expected a number" : $"`{text}` is not a number";
        throw new DataException(DataErrorCodes.CsvNotANumber, path,
            $"{DataException.NameOf(path)} row {r.Line}, column {column + 1} ({header[column]}): {what}",
            row: r.Line, column: column + 1);
    }

    private static DataException NotFinite(CsvRecord r, int column, string[] header, string path)
    {
        string text = r.Fields[column].Trim();
        TryNumber(text, out float v);
        string word = text.TrimStart('+', '-').ToLowerInvariant();
        bool overflow = float.IsInfinity(v) && word is not ("inf" or "infinity" or "∞");
        string what = overflow
            ? $"`{text}` is too large for a 32-bit float (the largest is about 3.4e38)"
            : $"`{text}` is not a finite number";
        return new DataException(DataErrorCodes.NonFinite, path,
            $"{DataException.NameOf(path)} row {r.Line}, column {column + 1} ({header[column]}): {what}; " +
            "training needs finite numbers (drop the row or fill the cell in)", row: r.Line, column: column + 1);
    }

    private static int Resolve(ColumnRef c, string[] header, string path)
    {
        if (c.Name is string wanted)
        {
            int i = Array.IndexOf(header, wanted);
            if (i >= 0) return i;
            throw new DataException(DataErrorCodes.CsvUnknownColumn, path,
                $"{DataException.NameOf(path)}: no column named `{wanted}`; the header has {string.Join(", ", header)}",
                row: 1);
        }
        if (c.Index < header.Length) return c.Index;
        throw new DataException(DataErrorCodes.CsvUnknownColumn, path,
            $"{DataException.NameOf(path)}: there is no column {c.Index}; the header has {header.Length} columns, " +
            $"numbered 0 to {header.Length - 1}", row: 1);
    }

    /// <summary>Writes a header and the rows of <paramref name="rows"/> ([N] or [N, ...], each row
    /// flattened), atomically.</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void Write(string path, IReadOnlyList<string> header, HostTensor rows)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(",", header.Select(CsvParser.Quote))).Append('\n');
        int size = rows.RowSize;
        for (int i = 0; i < rows.Rows; i++)
        {
            var row = rows.Row(i);
            for (int j = 0; j < size; j++)
            {
                if (j > 0) sb.Append(',');
                sb.Append(CultureInfo.InvariantCulture, $"{row[j]}"); // formatted into the builder, no string
            }
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>
    /// Writes a model's outputs [N, k] (or [N]) as CSV. With class names (k of them) the columns are the class
    /// names followed by <c>predicted</c>, the name of the largest output (empty for a row holding NaN); otherwise the
    /// columns are <c>y0</c>..<c>y{k-1}</c> (<c>y</c> when k = 1).
    /// </summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void WritePredictions(string path, HostTensor outputs, string[]? classNames = null)
    {
        int k = outputs.RowSize;
        if (classNames is null || classNames.Length != k)
        {
            Write(path, k == 1 ? ["y"] : Enumerable.Range(0, k).Select(j => $"y{j}").ToArray(), outputs);
            return;
        }
        var sb = new StringBuilder();
        sb.Append(string.Join(",", classNames.Append("predicted").Select(CsvParser.Quote))).Append('\n');
        for (int i = 0; i < outputs.Rows; i++)
        {
            var row = outputs.Row(i);
            int best = 0;
            bool nan = false;
            for (int j = 0; j < k; j++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{row[j]}").Append(',');
                if (row[j] > row[best]) best = j;
                nan |= float.IsNaN(row[j]);
            }
            // a row with NaN (an input marked by `nn predict --allow-nan`) has no class: never invent one
            if (!nan) sb.Append(CsvParser.Quote(classNames[best]));
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
