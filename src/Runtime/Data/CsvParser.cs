using System.Text;

namespace Nn.Runtime.Data;

/// <summary>One record of a CSV file: its fields and the 1-based line it starts on.</summary>
/// <param name="Line">the 1-based line of the file where the record starts (the "row" in messages)</param>
/// <param name="Fields">the fields, unquoted</param>
internal sealed record CsvRecord(int Line, string[] Fields);

/// <summary>
/// Splits CSV text into records (RFC 4180: comma separator, fields in double quotes may hold commas, newlines and
/// doubled quotes <c>""</c>; LF or CRLF line ends; a UTF-8 byte order mark is skipped). Blank lines are skipped,
/// as pandas does, so trailing blank lines are harmless.
/// </summary>
internal static class CsvParser
{
    /// <summary>The records of <paramref name="text"/>; <paramref name="path"/> is used in messages only.</summary>
    /// <exception cref="DataException">NN0524 when a quoted field is never closed; NN0526 for a NUL byte (which .NET's
    /// number parsing would skip, reading <c>3\0</c> as 3)</exception>
    public static List<CsvRecord> Parse(string text, string path)
    {
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, i = 0;
        bool fieldQuoted = false;
        int start = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;

        void EndField()
        {
            fields.Add(fieldQuoted ? field.ToString() : field.ToString().Trim());
            field.Clear();
            fieldQuoted = false;
        }
        void EndRecord()
        {
            EndField();
            bool blank = fields.Count == 1 && fields[0].Length == 0;
            if (!blank) records.Add(new CsvRecord(recordLine, fields.ToArray()));
            fields.Clear();
        }

        DataException Nul() =>
            new(DataErrorCodes.CsvNulByte, path,
                $"{DataException.NameOf(path)} row {line}, column {fields.Count + 1}: the cell holds a NUL byte " +
                "(\\0); a CSV file is text (is this a binary file, or UTF-16? save it as UTF-8)",
                row: line, column: fields.Count + 1);

        for (i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\0') throw Nul();
            if (c == '"' && field.ToString().Trim().Length == 0 && !fieldQuoted)
            {
                // A quoted field: read up to the closing quote; "" is a literal quote.
                int openLine = line;
                field.Clear();
                fieldQuoted = true;
                i++;
                while (true)
                {
                    if (i >= text.Length)
                        throw new DataException(DataErrorCodes.CsvUnclosedQuote, path,
                            $"{DataException.NameOf(path)} row {openLine}, column {fields.Count + 1}: " +
                            "a quoted field is never closed (missing `\"`)",
                            row: openLine, column: fields.Count + 1);
                    char q = text[i];
                    if (q == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        break;
                    }
                    if (q == '\n') line++;
                    if (q == '\0') throw Nul();
                    field.Append(q);
                    i++;
                }
                // Characters between the closing quote and the next separator are ignored except for blanks.
                while (i + 1 < text.Length && text[i + 1] is not (',' or '\n' or '\r')) i++;
            }
            else if (c == ',') EndField();
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                EndRecord();
                line++;
                recordLine = line;
            }
            else field.Append(c);
        }
        if (field.Length > 0 || fields.Count > 0 || fieldQuoted) EndRecord();
        return records;
    }

    /// <summary>A field as it must be written so that <see cref="Parse"/> reads it back unchanged.</summary>
    public static string Quote(string field) =>
        field.Length > 0 && field.IndexOfAny([',', '"', '\n', '\r']) < 0 && field.Trim().Length == field.Length
            ? field
            : "\"" + field.Replace("\"", "\"\"") + "\"";
}
