/// Reading a `.nn` file from disk, with the file-level diagnostics (NN0001-NN0003).
module internal Nn.Dsl.SourceFile

open System
open System.IO
open System.Text

let private noPos path = Span.make path (0, 0) (0, 0)

/// Decode strictly so a binary file is reported instead of being parsed as garbage.
let private strictUtf8 = UTF8Encoding(false, true)

/// Check text already in memory (the REPL, tests): NUL bytes mean binary, blank means empty.
let check (path: string) (text: string) : Result<string, Diagnostic> =
    if text.IndexOf '\000' >= 0 then
        let msg = sprintf "`%s` is not a text file (it contains NUL bytes)" path
        Result.Error(Diagnostic.error Codes.notText (noPos path) msg)
    elif String.IsNullOrWhiteSpace text then
        Result.Error(
            Diagnostic.error Codes.emptyFile (noPos path) "the file is empty: a program needs at least one declaration")
    else Ok text

/// Read a source file as UTF-8 (a byte-order mark is skipped).
let read (path: string) : Result<string, Diagnostic> =
    let fail code msg = Result.Error(Diagnostic.error code (noPos path) msg)
    if Directory.Exists path then fail Codes.cannotRead (sprintf "cannot read `%s`: it is a directory" path)
    elif not (File.Exists path) then fail Codes.cannotRead (sprintf "cannot read `%s`: no such file" path)
    else
        try
            let bytes = File.ReadAllBytes path
            let start =
                if bytes.Length >= 3 && bytes[0] = 0xEFuy && bytes[1] = 0xBBuy && bytes[2] = 0xBFuy then 3 else 0
            let decoded =
                try
                    Some(strictUtf8.GetString(bytes, start, bytes.Length - start))
                with :? DecoderFallbackException ->
                    None
            match decoded with
            | None -> fail Codes.notText (sprintf "`%s` is not a text file (it is not valid UTF-8)" path)
            | Some text -> check path text
        with
        | :? UnauthorizedAccessException -> fail Codes.cannotRead (sprintf "cannot read `%s`: permission denied" path)
        | :? IOException as e -> fail Codes.cannotRead (sprintf "cannot read `%s`: %s" path e.Message)
