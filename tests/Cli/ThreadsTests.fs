/// Training gives the same bits on one thread as on two: every example, one epoch on a small subset of its data.
module Nn.Tests.Cli.Threads

open System
open System.Diagnostics
open System.IO
open System.IO.Compression
open Expecto
open Nn.Tests
open Nn.Runtime.Checkpoints

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// The first `count` items of a gzipped IDX file (magic, item count, then the other sizes, big-endian), its header
/// rewritten to say so.
let private idxHead (source: string) (target: string) (count: int) =
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

/// A temporary copy of examples/ whose MNIST files hold their first 320 images (5 batches of 64 after the validation
/// split, the last one partial).
let private sandbox () =
    let d = Path.Combine(Path.GetTempPath(), "nn-threads-" + Guid.NewGuid().ToString("N"))
    let examples = Path.Combine(TestUtil.repoRoot, "examples")
    Directory.CreateDirectory(Path.Combine(d, "data")) |> ignore
    for f in Directory.GetFiles(examples, "*.nn") do File.Copy(f, Path.Combine(d, Path.GetFileName f))
    for f in Directory.GetFiles(Path.Combine(examples, "data")) do
        let target = Path.Combine(d, "data", Path.GetFileName f)
        if f.EndsWith "ubyte.gz" then idxHead f target 320 else File.Copy(f, target)
    d

let private runs =
    [ for f in Directory.GetFiles(Path.Combine(TestUtil.repoRoot, "examples"), "*.nn") |> Array.sort ->
        Path.GetFileName f, [] ]
    @ [ "residual.nn", [ "--network"; "deep_sigmoid" ] ]

[<Tests>]
let tests =
    testList "Cli.Threads" [
        testList "one epoch on 1 and on 2 threads writes the same checkpoint bit for bit" [
            for file, extra in runs ->
                test (String.concat " " (file :: extra)) {
                    let dir = sandbox ()
                    try
                        let train threads =
                            let out = sprintf "runs/t%d" threads
                            let args = [ "train"; file; "--set"; "epochs=1"; "--threads"; string threads; "--out"; out ]
                            let code, stdout, err = nn dir (args @ extra)
                            let what = sprintf "exit code on %d threads (stdout: %s, stderr: %s)" threads stdout err
                            Expect.equal code 0 what
                            SafeTensors.Read(Path.Combine(dir, out, "checkpoint.safetensors"))
                        let one, two = train 1, train 2
                        Expect.sequenceEqual two.Names one.Names "the same tensors"
                        for name in one.Names do
                            let same = one[name].Bytes = two[name].Bytes
                            Expect.isTrue same (sprintf "%s differs between 1 and 2 threads" name)
                    finally
                        try Directory.Delete(dir, true) with _ -> ()
                }
        ]
    ]
