namespace Nn.Runtime.Data;

// Error codes for reading and writing data and checkpoints. Codes are stable: tests and users match on them,
// so a code is never reused for a different meaning. Messages name the file (its name, not the whole path:
// the full path is in DataException.FilePath), the row/column or byte offset, and what was expected.
//
// | code   | meaning                                                                     | location      |
// |--------|-----------------------------------------------------------------------------|---------------|
// | NN0501 | file not found (or its folder does not exist)                               | -             |
// | NN0502 | file cannot be read (permissions, I/O error)                                | -             |
// | NN0503 | gzip data is corrupt, truncated, or longer than its trailer declares        | -             |
// | NN0504 | a data path is not a regular file (a folder, a device, a FIFO)              | -             |
// | NN0510 | IDX: wrong magic number (not IDX, or images/labels swapped)                 | byte 0        |
// | NN0511 | IDX: unsupported element type code                                          | byte 2        |
// | NN0512 | IDX: truncated (header or data shorter than the dimensions say)             | byte offset   |
// | NN0513 | IDX: image and label files hold different numbers of items                  | -             |
// | NN0514 | IDX: more data than the header declares                                     | byte offset   |
// | NN0520 | CSV: empty file (no header row)                                             | -             |
// | NN0521 | CSV: a row has a different number of fields than the header (ragged)        | row           |
// | NN0522 | CSV: a feature cell (or numeric label) is not a number                      | row, column   |
// | NN0523 | CSV: a column named in the program does not exist                           | -             |
// | NN0524 | CSV: a quoted field is not closed                                           | row, column   |
// | NN0525 | CSV: the header has no data rows                                            | -             |
// | NN0526 | CSV: a cell holds a NUL byte (a binary or UTF-16 file)                      | row, column   |
// | NN0530 | NPY: not an NPY file (magic) or its header is malformed                     | byte offset   |
// | NN0531 | NPY: fortran_order is True (only C order is supported)                      | -             |
// | NN0532 | NPY: unsupported dtype                                                      | -             |
// | NN0533 | NPY: truncated data                                                         | byte offset   |
// | NN0534 | NPY: features and targets differ in row count, or one is a 0-d array        | -             |
// | NN0540 | a class label is not a whole number in 0..k-1                               | row           |
// | NN0541 | a dataset request is impossible (validation fraction, batch size)           | -             |
// | NN0542 | a value is NaN or infinite, or too large for float32 (training data)        | row, column   |
// | NN0570 | several inputs: the features of two inputs differ in row count              | -             |
// | NN0571 | several inputs: the number of feature arrays differs from the network's     | -             |
// | NN0572 | several inputs: an input's features do not fit its declared shape           | -             |
// | NN0575 | CSV: a categorical column's value was not seen in training (eval, predict)  | row, column   |
// | NN0576 | CSV: a feature cell is empty and the `csv` settings have no `missing`       | row, column   |
// | NN0577 | a checkpoint's `table` record (the training table's vocabulary) is invalid  | -             |
// | NN0578 | CSV: a categorical/indexed column is not a feature, or is both kinds        | -             |
// | NN0701 | checkpoint file not found                                                   | -             |
// | NN0702 | safetensors: header length missing or larger than the file                  | byte offset   |
// | NN0703 | safetensors: header is not valid JSON or not the expected layout            | byte offset   |
// | NN0704 | safetensors: data_offsets out of range, overlapping, or not the shape's size | -             |
// | NN0705 | safetensors: unsupported dtype                                              | -             |
// | NN0706 | a file cannot be written (folder, permissions, disk full)                   | -             |
// | NN0707 | a tensor named in a request is not in the checkpoint                        | -             |
// | NN0708 | a checkpoint does not fit the network (a missing or extra tensor, a shape)  | -             |
// | NN0710 | a checkpoint's tensor holds NaN or infinity                                 | -             |
// | NN0711 | a training checkpoint's state (epoch, step, rng, schedule...) is invalid    | -             |

/// <summary>The stable codes of <see cref="DataException"/> (see the table at the top of DataException.cs).</summary>
internal static class DataErrorCodes
{
#pragma warning disable CS1591 // each constant is documented in the table above
    public const string FileNotFound = "NN0501";
    public const string FileUnreadable = "NN0502";
    public const string GzipCorrupt = "NN0503";
    public const string NotRegularFile = "NN0504";
    public const string IdxWrongMagic = "NN0510";
    public const string IdxUnsupportedType = "NN0511";
    public const string IdxTruncated = "NN0512";
    public const string IdxCountMismatch = "NN0513";
    public const string IdxTooLong = "NN0514";
    public const string CsvEmpty = "NN0520";
    public const string CsvRagged = "NN0521";
    public const string CsvNotANumber = "NN0522";
    public const string CsvUnknownColumn = "NN0523";
    public const string CsvUnclosedQuote = "NN0524";
    public const string CsvNoRows = "NN0525";
    public const string CsvNulByte = "NN0526";
    public const string NpyMalformed = "NN0530";
    public const string NpyFortranOrder = "NN0531";
    public const string NpyUnsupportedDtype = "NN0532";
    public const string NpyTruncated = "NN0533";
    public const string NpyRowMismatch = "NN0534";
    public const string BadLabel = "NN0540";
    public const string BadRequest = "NN0541";
    public const string NonFinite = "NN0542";
    public const string InputRowMismatch = "NN0570";
    public const string InputCount = "NN0571";
    public const string InputShape = "NN0572";
    public const string CsvUnseenValue = "NN0575";
    public const string CsvEmptyCell = "NN0576";
    public const string TableBad = "NN0577";
    public const string CsvColumnConflict = "NN0578";
    public const string CheckpointNotFound = "NN0701";
    public const string CheckpointHeaderLength = "NN0702";
    public const string CheckpointHeaderJson = "NN0703";
    public const string CheckpointOffsets = "NN0704";
    public const string CheckpointDtype = "NN0705";
    public const string WriteFailed = "NN0706";
    public const string CheckpointMissingTensor = "NN0707";
    public const string CheckpointMismatch = "NN0708";
    public const string CheckpointNonFinite = "NN0710";
    public const string CheckpointBadState = "NN0711";
#pragma warning restore CS1591
}

/// <summary>
/// A problem with a data or checkpoint file, as data (an <see cref="NnRuntimeException"/> whose span is the file):
/// a stable <see cref="NnRuntimeException.Code"/>, the file, where in it
/// (1-based row and column for text, byte offset for binary files) and a message in the user's words.
/// The public API of <c>Nn.Runtime.Data</c> and <c>Nn.Runtime.Checkpoints</c> throws only this for bad input;
/// raw <see cref="IOException"/>s and <see cref="FormatException"/>s are translated before they escape.
/// </summary>
internal sealed class DataException : NnRuntimeException
{
    /// <summary>The file as the caller named it.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based row (line of the file for CSV; item index + 1 for IDX labels), if known.</summary>
    public int? Row { get; }

    /// <summary>The 1-based column (field number) in a CSV row, if known.</summary>
    public int? Column { get; }

    /// <summary>The byte offset (0-based, in the decompressed data for gzip files) in a
    /// binary file, if known.</summary>
    public long? ByteOffset { get; }

    /// <summary>An error with its code, file, optional location and full message.</summary>
    public DataException(string code, string filePath, string message,
                         int? row = null, int? column = null, long? byteOffset = null, Exception? inner = null)
        : base(code, new SourceSpan(filePath, 0, 0, 0, 0), WithoutName(filePath, message), message, null, inner)
    {
        FilePath = filePath; Row = row; Column = column; ByteOffset = byteOffset; _standalone = message;
    }

    private readonly string _standalone;

    /// <summary>The message as given, which names the file first.</summary>
    public override string Standalone => _standalone;

    /// <summary>Messages start with the file's name (<c>iris.csv: ...</c>) so that they read alone; the
    /// <see cref="NnRuntimeException.Description"/> leaves it out, since the diagnostic's span names the
    /// file.</summary>
    private static string WithoutName(string path, string message) =>
        message.StartsWith(NameOf(path) + ": ", StringComparison.Ordinal)
            ? message[(NameOf(path).Length + 2)..]
            : message;

    /// <summary>The message with its code in front, as the command line prints it: <c>error NN0522: ...</c>.</summary>
    public string Render() => $"error {Code}: {Message}";

    /// <summary>The file name used in messages (the name only; the whole path is in <see cref="FilePath"/>).</summary>
    internal static string NameOf(string path) => Path.GetFileName(path) is { Length: > 0 } n ? n : path;
}
