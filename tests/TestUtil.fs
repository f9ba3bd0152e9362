/// Small helpers shared by the tests.
module Nn.Tests.TestUtil

open System.IO

/// The repository root (the folder holding Dsl.sln), found from the test binary's location.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Dsl.sln not found above the test binary"
        elif File.Exists(Path.Combine(d.FullName, "Dsl.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo(System.AppContext.BaseDirectory))

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
