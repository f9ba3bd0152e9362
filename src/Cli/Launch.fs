/// The checkout's `./nn` starts the native command it built without bash (issue #18: `/usr/bin/env bash` and bash's
/// own start were ~11 ms of every command here, `nn --version` ~28 ms through ./nn against ~15 ms alone): its POSIX
/// sh prologue sets NN_CHECKOUT to the checkout and execs artifacts/nn/nn at once. Before anything else the command
/// then does what the bash part did on that path: the sources listed at publish time (artifacts/nn/.sources, files
/// and folders, and the two props files) all older than the list. Any that is not (an edit changes a file's time; a
/// new, deleted or renamed file its folder's), or a list that cannot be read, hands the command line back to ./nn's
/// bash part (NN_LAUNCH=bash), which checks exactly, rebuilds when a source changed and starts the new build. Without
/// NN_CHECKOUT (an installed tool, the tests' `dotnet nn.dll`) nothing is checked.
module internal Nn.Cli.Launch

open System
open System.IO
open System.Runtime.InteropServices

[<DllImport("libc", EntryPoint = "execv", SetLastError = true)>]
extern int private execv(string path, string[] argv)

/// Whether every source the build at `root`/artifacts/nn was made from is older than its list (the bash part's
/// `unchanged`; a listed entry that is gone counts as changed here: the bash part then looks exactly).
let unchanged (root: string) =
    try
        let list = Path.Combine(root, "artifacts", "nn", ".sources")
        let listed = File.GetLastWriteTimeUtc list
        // one stat an entry (a file's or a folder's time; 1601 for a missing one: ~1.0 ms for the ~310 entries here,
        // ~1.7 ms asking first whether each exists)
        let missing = DateTime.FromFileTimeUtc 0L
        let older (path: string) =
            let t = File.GetLastWriteTimeUtc path
            t > missing && t < listed
        let entries = File.ReadAllLines list
        entries.Length > 0
        && older (Path.Combine(root, "Directory.Build.props"))
        && older (Path.Combine(root, "Directory.Packages.props"))
        && entries |> Array.forall (fun e -> older (Path.Combine(root, e)))
    with _ -> false

/// Hands the command line to ./nn's bash part when the checkout's sources changed since this build; returns (and the
/// command runs) when they did not, or when the process was not started by ./nn's quick path.
let handOverIfChanged (argv: string[]) =
    let root = Environment.GetEnvironmentVariable "NN_CHECKOUT"
    if not (String.IsNullOrEmpty root) && not (OperatingSystem.IsWindows()) && not (unchanged root) then
        // through sh, which sets NN_LAUNCH for bash alone (.NET's environment variables are not the C library's)
        let script = "NN_LAUNCH=bash exec bash \"$0\" \"$@\""
        let args = Array.concat [ [| "sh"; "-c"; script; Path.Combine(root, "nn") |]; argv; [| null |] ]
        let error =
            try
                execv ("/bin/sh", args) |> ignore
                "error " + string (Marshal.GetLastPInvokeError())
            with e -> e.Message
        // not replaced: go on with this build rather than fail
        stderr.WriteLine(
            "nn: could not hand over to " + Path.Combine(root, "nn") + " to rebuild (" + error
            + "); running the build as it is")
