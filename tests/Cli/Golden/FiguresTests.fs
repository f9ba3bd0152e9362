/// The trained figures of small examples, pinned: a few epochs of `nn train` on xor, iris, regression and lenet (on
/// the first 320 MNIST images), their metrics rows (every printed digit) and a digest of every checkpoint tensor,
/// compared byte for byte with tests/Cli/Golden/figures/ (README.md there).
module Nn.Tests.Cli.Golden.Figures

open System
open System.IO
open System.Runtime.Intrinsics
open System.Security.Cryptography
open Expecto
open Nn.Tests
open Nn.Tests.TestUtil
open Nn.Runtime.Checkpoints

let private folder = Path.Combine(repoRoot, "tests", "Cli", "Golden", "figures")

/// The runs: example file and epochs, a few seconds each.
let private runs = [ "xor.nn", 50; "iris.nn", 5; "regression.nn", 3; "lenet.nn", 2 ]

/// Float sums run in a different order on 512-bit and on 256-bit vectors (the GEMM micro-kernels, the elementwise
/// loops' tails), so the last bits of the figures depend on the vector width: one golden set per width. The thread
/// count does not change a bit (Cli.Threads checks that); the runs pin one thread all the same.
type private Width =
    { Name: string
      Env: (string * string) list
      Runs: unit -> bool }

let private widths =
    [ { Name = "avx512"; Env = []; Runs = fun () -> Vector512.IsHardwareAccelerated }
      // DOTNET_EnableAVX512=0: the runtime reports no AVX-512, and the engine takes its AVX2 paths, as on a CPU
      // without AVX-512
      { Name = "avx2"
        Env = [ "DOTNET_EnableAVX512", "0" ]
        Runs = fun () -> X86.Avx2.IsSupported && X86.Fma.IsSupported } ]

/// metrics.csv without its `seconds` column (wall time), then one line per checkpoint tensor: name, type, shape and
/// the first 16 hex digits of the SHA-256 of its bytes.
let private figures (run: string) =
    let lines = File.ReadAllLines(Path.Combine(run, "metrics.csv")) |> Array.filter (fun l -> l <> "")
    let seconds = Array.IndexOf(lines[0].Split ',', "seconds")
    Expect.isGreaterThanOrEqual seconds 0 "metrics.csv has a seconds column"
    let metrics = lines |> Array.map (fun l -> l.Split ',' |> Array.removeAt seconds |> String.concat ",")
    let checkpoint = SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors"))
    let tensors =
        [| for name in checkpoint.Names ->
            let t = checkpoint[name]
            let digest = Convert.ToHexString(SHA256.HashData t.Bytes).Substring(0, 16).ToLowerInvariant()
            let shape = t.Shape |> Array.map string |> String.concat ","
            sprintf "%s %A [%s] %s" name t.Type shape digest |]
    String.concat "\n" (Array.concat [ metrics; [| "# checkpoint tensors: name type [shape] sha256" |]; tensors ])
    + "\n"

[<Tests>]
let tests =
    testList "Cli.Golden.Figures" [
        for width in widths ->
            testList width.Name [
                for file, epochs in runs ->
                    test (sprintf "%s, %d epochs" file epochs) {
                        if not (width.Runs()) then skiptest (sprintf "this CPU does not run the %s paths" width.Name)
                        let dir = examplesWithMnistHead "nn-figures-" 320
                        try
                            let args =
                                [ "train"; file; "--set"; sprintf "epochs=%d" epochs; "--threads"; "1"
                                  "--out"; "runs/golden"; "--quiet" ]
                            let code, out, err = runNn width.Env dir args
                            Expect.equal code 0 (sprintf "nn train exits with 0 (stdout: %s, stderr: %s)" out err)
                            let golden = sprintf "%s.%s.txt" (Path.GetFileNameWithoutExtension file) width.Name
                            expectGolden (Path.Combine(folder, golden)) (figures (Path.Combine(dir, "runs", "golden")))
                        finally
                            try Directory.Delete(dir, true) with _ -> ()
                    }
            ]
    ]
