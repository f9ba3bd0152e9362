/// Rows read on a thread of their own into a ring of batches (src/Runtime/Data/RowBatches.cs): every row once, in
/// order, in batches of the asked size (the last padded with zero rows, a short file one batch of its rows), errors
/// raised to the caller in order, and a reader that stops when the caller does.
module Nn.Tests.Runtime.Data.RowBatchesTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Tests

let private withTemp f = TestUtil.withTempDir "nn-rowbatches-" f

/// An IDX file of `rows` rows of 3 unsigned bytes: row i holds i, i + 1, i + 2 (mod 256).
let private file (dir: string) (rows: int) =
    let p = Path.Combine(dir, $"r{rows}-ubyte")
    let header = [| 0uy; 0uy; 0x08uy; 2uy; byte (rows >>> 24); byte (rows >>> 16); byte (rows >>> 8); byte rows
                    0uy; 0uy; 0uy; 3uy |]
    File.WriteAllBytes(p, Array.append header (Array.init (rows * 3) (fun k -> byte ((k / 3 + k % 3) % 256))))
    p

/// Every batch as (first row, rows, shape, values), taken and given back one at a time.
let private takeAll (batches: RowBatches) =
    [ let mutable b = batches.Next()
      while not (isNull b) do
          yield b.Start, b.Rows, b.Tensor.Shape, b.Tensor.Data.Clone() :?> float32[]
          batches.Return b
          b <- batches.Next() ]

[<Tests>]
let tests =
    testList "Runtime.Data.RowBatches" [
        test "every row once and in order, in batches of 4 (the last padded with zero rows) or one short batch" {
            withTemp (fun dir ->
                for rows in [ 0; 1; 3; 4; 5; 8; 9; 23 ] do
                    let path = file dir rows
                    use batches = new RowBatches((fun () -> IdxRows.Open path), 4, 2)
                    Expect.equal batches.Shape [| rows; 3 |] $"{rows} rows: shape"
                    let taken = takeAll batches
                    let size = min rows 4
                    Expect.equal (taken |> List.map (fun (s, n, _, _) -> s, n))
                        [ for s in 0 .. 4 .. max 0 (rows - 1) -> s, min 4 (rows - s) ] $"{rows} rows: the batches"
                    for start, n, shape, values in taken do
                        Expect.equal shape [| size; 3 |] $"{rows} rows: batch at {start}: shape"
                        let expected =
                            Array.init (size * 3) (fun k ->
                                if k / 3 < n then float32 ((start + k / 3 + k % 3) % 256) else 0f)
                        Expect.equal values expected $"{rows} rows: batch at {start}: values"
                    Expect.isNull (batches.Next()) $"{rows} rows: nothing after the end")
        }
        test "each batch is seen once, in order, before the caller takes it (on the reader thread when it keeps up)" {
            withTemp (fun dir ->
                let path = file dir 10
                let seen = Collections.Concurrent.ConcurrentQueue<int * int>()
                let decoded (b: RowBatches.Batch) =
                    seen.Enqueue((b.Start, b.Rows))
                    b.Tensor.Row(0).Fill(-1f)
                use batches = new RowBatches((fun () -> IdxRows.Open path), 4, 3, Action<_>(decoded))
                let taken = takeAll batches
                Expect.equal (List.ofSeq seen) [ 0, 4; 4, 4; 8, 2 ] "seen in order"
                for start, _, _, values in taken do
                    Expect.equal values[.. 2] [| -1f; -1f; -1f |] $"batch at {start}: changed before it was taken")
        }
        test "a reader held up in every batch it decodes (the caller may decode some): every row once and in order" {
            withTemp (fun dir ->
                let path = file dir 1000
                // the reader thread sleeps in each batch it decodes; between them the caller may take the next one
                let reader = ref -1
                let decoded (b: RowBatches.Batch) =
                    if b.Start = 0 then reader.Value <- Threading.Thread.CurrentThread.ManagedThreadId
                    if Threading.Thread.CurrentThread.ManagedThreadId = reader.Value then Threading.Thread.Sleep 5
                use batches = new RowBatches((fun () -> IdxRows.Open path), 10, 2, Action<_>(decoded))
                let taken = takeAll batches
                Expect.equal (taken |> List.map (fun (s, n, _, _) -> s, n)) [ for s in 0 .. 10 .. 990 -> s, 10 ]
                    "every batch in order"
                for start, _, _, values in taken do
                    Expect.equal values (Array.init 30 (fun k -> float32 ((start + k / 3 + k % 3) % 256)))
                        $"batch at {start}: values")
        }
        test "a ring of 8 (the reader woken once 4 are given back), the caller holding two at a time: all in order" {
            withTemp (fun dir ->
                let path = file dir 101
                for slowReader in [ false; true ] do
                    let decoded (_: RowBatches.Batch) = if slowReader then Threading.Thread.Sleep 1
                    use batches = new RowBatches((fun () -> IdxRows.Open path), 4, 8, Action<_>(decoded))
                    let taken = Collections.Generic.List<int * float32[]>()
                    let mutable held: RowBatches.Batch = null
                    let mutable b = batches.Next()
                    while not (isNull b) do
                        taken.Add((b.Start, b.Tensor.Data.Clone() :?> float32[]))
                        if not (isNull held) then batches.Return held
                        held <- b
                        b <- batches.Next()
                    Expect.equal (taken |> Seq.map fst |> List.ofSeq) [ 0 .. 4 .. 100 ] $"slow {slowReader}: in order"
                    for start, values in taken do
                        let expected =
                            Array.init 12 (fun k -> if start + k / 3 < 101 then float32 ((start + k / 3 + k % 3) % 256)
                                                    else 0f)
                        Expect.equal values expected $"slow {slowReader}: batch at {start}")
        }
        test "a file that cannot be opened raises its error from Shape and Next" {
            withTemp (fun dir ->
                let missing = Path.Combine(dir, "none-ubyte")
                use batches = new RowBatches((fun () -> IdxRows.Open missing), 4, 2)
                let e = TestUtil.dataError (fun () -> batches.Shape)
                Expect.equal e.Code "NN0501" "Shape: file not found"
                Expect.equal (TestUtil.dataError (fun () -> batches.Next())).Code "NN0501" "Next: file not found")
        }
        test "damage part way is raised after the batches before it, as reading the file whole names it" {
            withTemp (fun dir ->
                let rows = 3000
                let body = let r = Random 3 in Array.init (rows * 3) (fun _ -> byte (r.Next 256))
                let header = [| 0uy; 0uy; 0x08uy; 2uy; 0uy; 0uy; byte (rows >>> 8); byte rows; 0uy; 0uy; 0uy; 3uy |]
                let packed = TestUtil.gzip (Array.append header body)
                let path = Path.Combine(dir, "cut-ubyte.gz")
                // cut at three quarters, the trailer kept (so the file opens and is streamed)
                File.WriteAllBytes(path, Array.append packed[.. packed.Length * 3 / 4] packed[packed.Length - 8 ..])
                let whole = TestUtil.dataError (fun () -> Idx.Read path)
                use batches = new RowBatches((fun () -> IdxRows.Open path), 100, 2)
                let mutable taken = 0
                let e =
                    TestUtil.dataError (fun () ->
                        let mutable b = batches.Next()
                        while not (isNull b) do
                            taken <- taken + 1
                            batches.Return b
                            b <- batches.Next())
                Expect.equal (e.Code, e.Message) (whole.Code, whole.Message) "the error of reading it whole"
                Expect.isGreaterThan taken 0 "batches before the damage were taken"
                Expect.isLessThan taken (rows / 100) "not every batch")
        }
        test "disposing stops a reader waiting for a batch to be given back" {
            withTemp (fun dir ->
                let path = file dir 100
                let batches = new RowBatches((fun () -> IdxRows.Open path), 4, 2)
                Expect.isNotNull (batches.Next()) "a first batch"
                // the ring of 2 is full: the reader waits until disposed
                (batches :> IDisposable).Dispose()
                (batches :> IDisposable).Dispose())
        }
    ]
