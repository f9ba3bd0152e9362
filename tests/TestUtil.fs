/// Small helpers shared by the tests.
module Nn.Tests.TestUtil

open System
open System.IO
open System.IO.Compression
open Expecto

/// The repository root (the folder holding Dsl.sln), found from the test binary's location.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Dsl.sln not found above the test binary"
        elif File.Exists(Path.Combine(d.FullName, "Dsl.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo(System.AppContext.BaseDirectory))

/// A program given as text, compiled as if it were examples/test.nn; a program that does not compile fails the test.
let internal compiledText (text: string) =
    match Nn.Compiler.Compile.compileText (Path.Combine(repoRoot, "examples", "test.nn")) text with
    | Ok c -> c
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Message))

/// The forward graph of the first network of a program given as text, on a builder of its own.
let internal forwardOf (text: string) =
    let b = Nn.Runtime.IR.GraphBuilder()
    b, Nn.Compiler.Compile.forward (compiledText text).Networks.Head b false

/// Run the built nn.dll in `dir` with NO_COLOR=1, redirected output and extra environment: code, stdout, stderr.
let runNn (env: (string * string) list) (dir: string) (args: string list) =
    let psi =
        System.Diagnostics.ProcessStartInfo(
            "dotnet", WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true)
    for a in "exec" :: Path.Combine(System.AppContext.BaseDirectory, "nn.dll") :: args do psi.ArgumentList.Add a
    psi.Environment["NO_COLOR"] <- "1"
    for k, v in env do psi.Environment[k] <- v
    use p = System.Diagnostics.Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result

/// A new empty folder under the system's temporary folder.
let tempDir (prefix: string) =
    let d = Path.Combine(Path.GetTempPath(), prefix + System.Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// Runs `f` with a fresh folder (named `prefix` + a GUID) that is deleted afterwards.
let withTempDir (prefix: string) (f: string -> 'a) =
    let dir = tempDir prefix
    try f dir finally Directory.Delete(dir, true)

/// A temporary folder holding copies of the named files of examples/ (paths relative to examples/).
let exampleSandbox (prefix: string) (files: string list) =
    let d = Path.Combine(Path.GetTempPath(), prefix + System.Guid.NewGuid().ToString("N"))
    for f in files do
        let target = Path.Combine(d, f)
        Directory.CreateDirectory(Path.GetDirectoryName target) |> ignore
        File.Copy(Path.Combine(repoRoot, "examples", f), target)
    d

/// The DataException `f` throws (fails the test when it throws nothing).
let dataError (f: unit -> 'a) =
    try
        f () |> ignore
        Expecto.Tests.failtest "expected a DataException"
    with :? Nn.Runtime.Data.DataException as e -> e

/// One gzip member holding `bytes`.
let gzip (bytes: byte[]) =
    use ms = new MemoryStream()
    (use z = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, true)
     z.Write(bytes, 0, bytes.Length))
    ms.ToArray()

/// The first `count` items of a gzipped IDX file (magic, item count, then the other sizes, big-endian), its header
/// rewritten to say so.
let idxHead (source: string) (target: string) (count: int) =
    use input = new GZipStream(File.OpenRead source, CompressionMode.Decompress)
    let header = Array.zeroCreate<byte> 4
    input.ReadExactly header
    let dims = int header[3]
    let sizes = Array.init dims (fun _ -> let b = Array.zeroCreate<byte> 4 in input.ReadExactly b; b)
    let bigEndian (b: byte[]) = int b[0] <<< 24 ||| int b[1] <<< 16 ||| int b[2] <<< 8 ||| int b[3]
    let itemBytes = sizes |> Array.skip 1 |> Array.fold (fun acc b -> acc * bigEndian b) 1
    let body = Array.zeroCreate<byte> (count * itemBytes)
    input.ReadExactly body
    use output = new GZipStream(File.Create target, CompressionLevel.Fastest)
    let write (bytes: byte[]) = output.Write(bytes, 0, bytes.Length)
    write header
    write [| byte (count >>> 24); byte (count >>> 16); byte (count >>> 8); byte count |]
    for b in Array.skip 1 sizes do write b
    write body

/// A temporary copy of examples/*.nn and examples/data/ whose MNIST files hold only their first `images` items.
let examplesWithMnistHead (prefix: string) (images: int) =
    let d = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"))
    let examples = Path.Combine(repoRoot, "examples")
    Directory.CreateDirectory(Path.Combine(d, "data")) |> ignore
    for f in Directory.GetFiles(examples, "*.nn") do File.Copy(f, Path.Combine(d, Path.GetFileName f))
    for f in Directory.GetFiles(Path.Combine(examples, "data")) do
        let target = Path.Combine(d, "data", Path.GetFileName f)
        if f.EndsWith "ubyte.gz" then idxHead f target images else File.Copy(f, target)
    d

// ---------------------------------------------------------------- golden files (tests/Cli/Golden/README.md)

/// Set NN_UPDATE_GOLDEN=1 to rewrite golden files from the current output instead of comparing with them.
let updateGolden = Environment.GetEnvironmentVariable "NN_UPDATE_GOLDEN" = "1"

/// Fails with a unified diff (`name` first, then the actual text) when the texts differ; `hint` follows the name.
let expectSameText (name: string) (hint: string) (expected: string) (actual: string) =
    if expected <> actual then
        let diff = Nn.Dsl.Format.UnifiedDiff.diff name "actual" expected actual
        Expecto.Tests.failtestf "differs from %s%s:\n%s" name hint diff

/// Compares `actual` byte for byte with the golden file `path` (failing with a unified diff, golden file first), or
/// writes it when NN_UPDATE_GOLDEN=1. A missing golden file fails and says how to make it.
let expectGolden (path: string) (actual: string) =
    let name = Path.GetRelativePath(repoRoot, path).Replace('\\', '/')
    if updateGolden then
        Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
        File.WriteAllText(path, actual)
    elif not (File.Exists path) then
        Expecto.Tests.failtestf "no golden file %s: run the test with NN_UPDATE_GOLDEN=1 to write it" name
    else
        expectSameText name " (NN_UPDATE_GOLDEN=1 rewrites it if the change is meant)" (File.ReadAllText path) actual

/// Spans compare as always equal (Nn.Runtime.SourceSpan: they never take part in equality), so a test of where
/// something points compares them strictly here.
let expectSpan (actual: Nn.Runtime.SourceSpan) (expected: Nn.Runtime.SourceSpan) (message: string) =
    if not (Nn.Runtime.SourceSpan.Same(actual, expected)) then
        failtestf "%s: the span is %s, expected %s" message (Nn.Dsl.Span.describe actual)
            (Nn.Dsl.Span.describe expected)
