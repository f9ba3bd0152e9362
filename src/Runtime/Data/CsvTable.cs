using System.Globalization;

namespace Nn.Runtime.Data;

/// <summary>A dataset read from a table, with the encoding of its feature columns when it has one (text columns or
/// a <c>missing</c> setting), to keep with the weights.</summary>
/// <param name="Data">the rows</param>
/// <param name="Encoding">what the feature columns became (learnt, or the one given), or null for plain numbers</param>
internal sealed record TableData(Dataset Data, TableEncoding? Encoding);

/// <summary>
/// Learns the encoding of a CSV file's feature columns (the vocabulary of its text columns, the fill of empty cells)
/// and encodes rows with it. A categorical column becomes one 0/1 column per known value, in the vocabulary's order,
/// at the column's place among the features; an indexed column becomes the id 1..V of its value (0: never seen).
/// </summary>
internal static class CsvTable
{
    /// <summary>
    /// The encoding of <paramref name="features"/> (0-based columns). A text column's vocabulary is every distinct
    /// non-empty value of the file, sorted by ordinal order; a number column's mean (for <c>missing = mean</c>) is
    /// taken over the rows <paramref name="training"/> marks (all rows when null), 0 when none has a number.
    /// </summary>
    /// <exception cref="DataException">NN0522 text in a number column; NN0542 (with <paramref name="requireFinite"/>)
    /// a number that is not finite; NN0578 a text column that is not a feature, or is both kinds</exception>
    public static TableEncoding Learn(List<CsvRecord> records, string[] header, int[] features, int[] categorical,
                                      int[] indexed, MissingSpec missing, bool[]? training, string path,
                                      bool requireFinite)
    {
        foreach (int c in categorical.Concat(indexed))
            if (!features.Contains(c))
                throw Conflict(path, $"the column `{header[c]}` is listed in `{Kind(c, categorical)}` but is not "
                                     + "one of the `features`");
        foreach (int c in categorical.Intersect(indexed))
            throw Conflict(path, $"the column `{header[c]}` is listed in both `categorical` and `indexed`");
        var columns = new List<TableColumn>();
        foreach (int c in features)
        {
            if (categorical.Contains(c) || indexed.Contains(c))
            {
                var values = new SortedSet<string>(StringComparer.Ordinal);
                for (int i = 1; i < records.Count; i++)
                    if (records[i].Fields[c] is { Length: > 0 } v) values.Add(v);
                var kind = categorical.Contains(c) ? ColumnKind.Categorical : ColumnKind.Indexed;
                columns.Add(new TableColumn(header[c], kind, values.ToArray(),
                                            missing.Kind == MissingKind.Error ? null : 0f));
                continue;
            }
            float? fill = missing.Kind switch
            {
                MissingKind.Error => null,
                MissingKind.Constant => missing.Value,
                MissingKind.Mean => Mean(records, c, header, training, path, requireFinite),
            };
            columns.Add(new TableColumn(header[c], ColumnKind.Number, [], fill));
        }
        return new TableEncoding(columns);
    }

    private static string Kind(int c, int[] categorical) => categorical.Contains(c) ? "categorical" : "indexed";

    private static float Mean(List<CsvRecord> records, int c, string[] header, bool[]? training, string path,
                              bool requireFinite)
    {
        double sum = 0;
        int count = 0;
        for (int i = 1; i < records.Count; i++)
        {
            if (records[i].Fields[c].Length == 0 || (training is not null && !training[i - 1])) continue;
            sum += Csv.Number(records[i], c, header, path, requireFinite);
            count++;
        }
        return count == 0 ? 0f : (float)(sum / count);
    }

    /// <summary>The feature matrix [N, encoding.Width] of the data rows (records after the header); <paramref
    /// name="features"/> are the 0-based columns of the encoding's columns, in order.</summary>
    /// <exception cref="DataException">NN0522 text in a number column; NN0542 (with <paramref name="requireFinite"/>)
    /// a number that is not finite; NN0575 a categorical value not in the vocabulary; NN0576 an empty cell without a
    /// fill</exception>
    public static HostTensor Encode(List<CsvRecord> records, string[] header, int[] features, TableEncoding encoding,
                                    string path, bool requireFinite)
    {
        int n = records.Count - 1, width = encoding.Width;
        var x = new float[n * width];
        for (int i = 0; i < n; i++)
        {
            var r = records[i + 1];
            int o = i * width;
            for (int j = 0; j < features.Length; j++)
            {
                var col = encoding.Columns[j];
                int c = features[j];
                string text = r.Fields[c];
                if (text.Length == 0)
                {
                    if (col.Fill is not float fill) throw Empty(r, c, header, path);
                    if (col.Kind != ColumnKind.Categorical) x[o] = col.Kind == ColumnKind.Number ? fill : 0f;
                    o += col.Width; // a categorical column's empty cell is unknown: a row of zeros
                    continue;
                }
                switch (col.Kind)
                {
                    case ColumnKind.Number:
                        x[o] = Csv.Number(r, c, header, path, requireFinite);
                        break;
                    case ColumnKind.Categorical:
                        int k = col.Find(text);
                        if (k < 0) throw Unseen(r, c, header, col, path);
                        x[o + k] = 1f;
                        break;
                    case ColumnKind.Indexed:
                        x[o] = col.Find(text) + 1;
                        break;
                }
                o += col.Width;
            }
        }
        return new HostTensor([n, width], x);
    }

    private static string Where(CsvRecord r, int c, string[] header, string path) =>
        $"{DataException.NameOf(path)} row {r.Line}, column {c + 1} ({header[c]})";

    /// <summary>NN0576: an empty feature cell with no <c>missing</c> setting to fill it.</summary>
    internal static DataException Empty(CsvRecord r, int c, string[] header, string path) =>
        new(DataErrorCodes.CsvEmptyCell, path,
            $"{Where(r, c, header, path)}: the cell is empty; fill it in or drop the row, or set `missing = mean` or "
            + "`missing = 0` in the `csv` settings", row: r.Line, column: c + 1);

    private static DataException Unseen(CsvRecord r, int c, string[] header, TableColumn col, string path)
    {
        var shown = col.Values.Take(20).Select(v => $"`{v}`");
        string more = col.Values.Length > 20
            ? string.Create(CultureInfo.InvariantCulture, $" and {col.Values.Length - 20} more")
            : "";
        return new(DataErrorCodes.CsvUnseenValue, path,
            $"{Where(r, c, header, path)}: `{r.Fields[c]}` is not a value of the categorical column `{col.Name}` seen "
            + $"in training; the known values are {string.Join(", ", shown)}{more}", row: r.Line, column: c + 1);
    }

    private static DataException Conflict(string path, string what) =>
        new(DataErrorCodes.CsvColumnConflict, path, $"{DataException.NameOf(path)}: {what}", row: 1);
}
