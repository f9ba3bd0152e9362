/// `nn predict` runs the network in batches (src/Cli/Commands/Predict.fs, issue #18): every row's output is the one
/// the network gives that row, whatever batch it ran in, and the batches are of one size. An IDX input is read batch
/// by batch on another thread: the same outputs and errors as the same rows read whole from a .npy file (also with its
/// network's `x / 255.0` done by the reader: Rewrite/InputScale).
module Nn.Tests.Cli.Predict

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Cli.Commands

/// A network of each row on its own: outputs [sum of the row; the row's first value × 2], recording the batch sizes
/// it was given.
type private RowWise() =
    member val Batches = ResizeArray<int>()
    interface IStepExecutor with
        member _.Load _ = ()
        member _.Snapshot() = Dictionary()
        member _.Step(_: IReadOnlyList<HostTensor>, _: HostTensor, _: float, _: int64, _: uint64) : BatchResult =
            failwith "not used"
        member _.Evaluate(_: IReadOnlyList<HostTensor>, _: HostTensor) : BatchResult = failwith "not used"
        member this.Predict(xs: IReadOnlyList<HostTensor>) =
            let x = xs[0]
            this.Batches.Add x.Rows
            let out = Array.zeroCreate (2 * x.Rows)
            for i in 0 .. x.Rows - 1 do
                let row = x.Row(i).ToArray()
                out[2 * i] <- Array.sum row
                out[2 * i + 1] <- 2f * row[0]
            HostTensor([| x.Rows; 2 |], out)

/// Run the built nn.dll in `dir`: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// An IDX file of big-endian elements: 0x08 unsigned bytes or 0x0D float32, of the shape `shape`.
let private idx (typeCode: byte) (shape: int[]) (values: float32[]) =
    let bigEndian (b: byte[]) = Array.rev b
    [| yield 0uy; yield 0uy; yield typeCode; yield byte shape.Length
       for d in shape do yield! bigEndian (BitConverter.GetBytes d)
       for v in values do
           if typeCode = 0x08uy then yield byte v else yield! bigEndian (BitConverter.GetBytes v) |]

/// A folder with a 3-class classifier of [3, 4] rows trained one epoch (`run`) on 300 rows of pixel values (x.npy),
/// and those rows as x.npy and gzipped IDX (x-ubyte.gz): 300 rows are two batches, the second padded.
let private trained (f: string -> unit) =
    Nn.Tests.TestUtil.withTempDir "nn-predict-" (fun dir ->
        let rows = 300
        let x = let r = Random 5 in Array.init (rows * 12) (fun _ -> float32 (r.Next 256))
        Npy.Write(Path.Combine(dir, "x.npy"), HostTensor([| rows; 3; 4 |], x))
        Npy.Write(Path.Combine(dir, "y.npy"), HostTensor([| rows |], Array.init rows (fun i -> float32 (i % 3))))
        File.WriteAllBytes(Path.Combine(dir, "x-ubyte.gz"), Nn.Tests.TestUtil.gzip (idx 0x08uy [| rows; 3; 4 |] x))
        File.WriteAllText(Path.Combine(dir, "m.nn"),
            "network m (x: [n, 3, 4]) : [n, 3] =\n    x / 255.0 |> flatten |> dense 5 |> relu |> dense 3\n\n\
             train m {\n    data = npy \"x.npy\" \"y.npy\"\n    loss = softmaxCrossEntropy\n    epochs = 1\n}\n")
        let code, _, err = nn dir [ "train"; "m.nn"; "--out"; "run"; "--quiet" ]
        Expect.equal code 0 (sprintf "training (stderr: %s)" err)
        f dir)

/// `nn predict m.nn --weights run --input INPUT --out OUT` and more arguments: exit code, stdout (the input's and
/// output's names replaced by X and Y), stderr.
let private predict dir (input: string) (out: string) (more: string list) =
    let code, stdout, err =
        nn dir ([ "predict"; "m.nn"; "--weights"; "run"; "--input"; input; "--out"; out ] @ more)
    code, stdout.Replace(input, "X").Replace(out, "Y"), err

[<Tests>]
let tests =
    testList "Cli.Predict" [
        test "outputs in batches equal each row's own output, for row counts around the batch size" {
            let b = Predict.predictBatch
            for rows in [ 0; 1; b - 1; b; b + 1; 2 * b; 2 * b + 37 ] do
                // rows of [3, 2] items with values that tell rows apart
                let values = Array.init (rows * 6) (fun i -> float32 (i / 6) + 0.25f * float32 (i % 6))
                let x = HostTensor([| rows; 3; 2 |], values)
                let exec = RowWise()
                let out = Predict.predictInBatches exec [| x |]
                Expect.equal out.Shape [| rows; 2 |] (sprintf "%d rows: the shape" rows)
                for i in 0 .. rows - 1 do
                    // row i holds i + 0, i + 0.25, ..., i + 1.25: sum 6i + 3.75, first value i
                    Expect.equal (out.Row(i).ToArray()) [| 6f * float32 i + 3.75f; 2f * float32 i |]
                        (sprintf "%d rows: row %d" rows i)
                let expected = if rows <= b then [ rows ] else List.replicate ((rows + b - 1) / b) b
                Expect.equal (List.ofSeq exec.Batches) expected (sprintf "%d rows: the batches run" rows)
        }
        test "an IDX input, read batch by batch, gives the outputs of the same rows read whole from .npy" {
            trained (fun dir ->
                let code, whole, err = predict dir "x.npy" "whole.npy" []
                Expect.equal code 0 (sprintf "from .npy (stderr: %s)" err)
                let code, streamed, err = predict dir "x-ubyte.gz" "streamed.npy" []
                Expect.equal code 0 (sprintf "from IDX (stderr: %s)" err)
                Expect.equal streamed whole "the printed table"
                Expect.equal (File.ReadAllBytes(Path.Combine(dir, "streamed.npy")))
                    (File.ReadAllBytes(Path.Combine(dir, "whole.npy"))) "the .npy outputs, byte for byte")
        }
        test "an IDX input damaged part way: the error reading it whole gives, exit 1, no output, an old one kept" {
            trained (fun dir ->
                let packed = File.ReadAllBytes(Path.Combine(dir, "x-ubyte.gz"))
                // cut at two thirds with the trailer kept (it opens, and the stream stops short), or a byte changed
                // in the compressed data
                let cut = Array.append packed[.. packed.Length * 2 / 3] packed[packed.Length - 8 ..]
                let corrupt = Array.copy packed
                corrupt[packed.Length / 2] <- corrupt[packed.Length / 2] ^^^ 0x5Auy
                File.WriteAllText(Path.Combine(dir, "old.csv"), "kept")
                for name, bytes in [ "cut-ubyte.gz", cut; "corrupt-ubyte.gz", corrupt ] do
                    let path = Path.Combine(dir, name)
                    File.WriteAllBytes(path, bytes)
                    let expected = Nn.Tests.TestUtil.dataError (fun () -> Idx.Read path)
                    for out in [ "new.npy"; "old.csv" ] do
                        let code, stdout, err = predict dir name out []
                        Expect.equal code 1 $"{name} to {out}: exit code"
                        Expect.equal (err.Trim())
                            (sprintf "%s: error %s: %s\n\n1 error" name expected.Code
                                 (expected.Message.Substring(name.Length + 2))) $"{name} to {out}: the diagnostic"
                        Expect.equal stdout "" $"{name} to {out}: nothing printed"
                    File.Delete path
                Expect.isFalse (File.Exists(Path.Combine(dir, "new.npy"))) "no new output file"
                Expect.equal (File.ReadAllText(Path.Combine(dir, "old.csv"))) "kept" "the old output untouched"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort)
                    [| "m.nn"; "old.csv"; "x-ubyte.gz"; "x.npy"; "y.npy" |] "no temporary file left")
        }
        test "IDX rows holding NaN: the error of the same rows from .npy, and with --allow-nan the same outputs" {
            trained (fun dir ->
                let x = (Npy.ReadHost(Path.Combine(dir, "x.npy"))).Data
                for i in [ 5; 270 ] do x[i * 12 + 2] <- nanf
                x[7 * 12] <- infinityf
                Npy.Write(Path.Combine(dir, "bad.npy"), HostTensor([| 300; 3; 4 |], x))
                File.WriteAllBytes(Path.Combine(dir, "bad-ubyte"), idx 0x0Duy [| 300; 3; 4 |] x)
                let code, _, fromNpy = predict dir "bad.npy" "a.npy" []
                Expect.equal code 1 "from .npy: exit code"
                let code, _, fromIdx = predict dir "bad-ubyte" "b.npy" []
                Expect.equal code 1 "from IDX: exit code"
                let named = "error NN0560: rows 6, 8 and 271 hold NaN or infinite values (row 6, value 3: NaN)"
                Expect.stringContains fromIdx named "the rows named"
                Expect.equal (fromIdx.Replace("bad-ubyte", "X")) (fromNpy.Replace("bad.npy", "X")) "the same diagnostic"
                let code, whole, _ = predict dir "bad.npy" "a.npy" [ "--allow-nan" ]
                Expect.equal code 0 "from .npy with --allow-nan"
                let code, streamed, _ = predict dir "bad-ubyte" "b.npy" [ "--allow-nan" ]
                Expect.equal code 0 "from IDX with --allow-nan"
                Expect.equal streamed whole "the printed table"
                let bytes name = File.ReadAllBytes(Path.Combine(dir, name))
                Expect.equal (bytes "b.npy") (bytes "a.npy")
                    "the .npy outputs, byte for byte")
        }
    ]
