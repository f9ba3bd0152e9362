/// IDX files read a few rows at a time (src/Runtime/Data/IdxRows.cs): the same values as reading them whole, and,
/// for a file damaged part way, the same error (code and message) as reading it whole.
module Nn.Tests.Runtime.Data.IdxRowsTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Tests

let private withTemp f = TestUtil.withTempDir "nn-idxrows-" f
let private dataError f = TestUtil.dataError f
let private gzip bytes = TestUtil.gzip bytes

/// An IDX header of unsigned bytes (type 0x08) with big-endian sizes, followed by `body`.
let private idx (shape: int list) (body: byte[]) =
    [| yield 0uy; yield 0uy; yield 0x08uy; yield byte shape.Length
       for d in shape do yield! (let b = BitConverter.GetBytes d in Array.rev b)
       yield! body |]

/// Every element of `path` read by IdxRows in reads of `piece` elements (the last one shorter), then Finish.
let private readInPieces (path: string) (piece: int) =
    use rows = IdxRows.Open path
    let all = Array.create (int rows.Count) nanf
    let mutable at = 0
    while at < all.Length do
        let n = min piece (all.Length - at)
        rows.Read(all.AsSpan(at, n))
        at <- at + n
    rows.Finish()
    rows.Shape, all

/// The error reading `path` whole raises, and the one reading it in pieces of `piece` raises.
let private bothErrors (path: string) (piece: int) =
    dataError (fun () -> Idx.Read path), dataError (fun () -> readInPieces path piece)

/// 300 images of 7x9 pixels of random values (so that gzip hardly compresses them).
let private body = let r = Random 7 in Array.init (300 * 63) (fun _ -> byte (r.Next 256))

/// The first `fraction` of a gzip file's bytes and its 8-byte trailer (checksum and length): a stream cut part way
/// whose trailer still declares what the header does, so the damage is found only where the data stops.
let private cutKeepingTrailer (packed: byte[]) (fraction: float) =
    Array.append packed[.. int (float packed.Length * fraction)] packed[packed.Length - 8 ..]

[<Tests>]
let tests =
    testList "Runtime.Data.IdxRows" [
        test "read in pieces of any size, a file gives the values and shape of reading it whole" {
            withTemp (fun dir ->
                let plain = Path.Combine(dir, "x-ubyte")
                let packed = Path.Combine(dir, "x-ubyte.gz")
                File.WriteAllBytes(plain, idx [ 300; 7; 9 ] body)
                File.WriteAllBytes(packed, gzip (idx [ 300; 7; 9 ] body))
                let expected = body |> Array.map float32
                for path in [ plain; packed ] do
                    for piece in [ 1; 63; 64; 1000; 16384; 16385; 300 * 63 ] do
                        let shape, values = readInPieces path piece
                        Expect.equal shape [| 300; 7; 9 |] $"{Path.GetFileName path}, pieces of {piece}: shape"
                        Expect.equal values expected $"{Path.GetFileName path}, pieces of {piece}: values")
        }
        test "the MNIST digits read in batches of 256 rows equal reading them whole" {
            let images = Path.Combine(TestUtil.repoRoot, "examples", "data", "mnist10k-images-idx3-ubyte.gz")
            let shape, values = readInPieces images (256 * 784)
            let whole = Idx.Read images
            Expect.equal shape whole.Shape "shape"
            Expect.isTrue (values.AsSpan().SequenceEqual(ReadOnlySpan whole.Data)) "every pixel"
        }
        test "files it does not stream (other element types, a header that disagrees) read as Idx.Read reads them" {
            withTemp (fun dir ->
                // 32-bit integers: read whole when opened
                let ints = Path.Combine(dir, "i.idx")
                File.WriteAllBytes(ints, [| 0uy; 0uy; 0x0Cuy; 1uy; 0uy; 0uy; 0uy; 2uy; 0uy; 0uy; 1uy; 0uy; 255uy;
                                            255uy; 255uy; 255uy |])
                Expect.equal (snd (readInPieces ints 1)) [| 256f; -1f |] "int32 values"
                // a file longer than its header says: the error is raised when it is opened
                let long = Path.Combine(dir, "long.idx")
                File.WriteAllBytes(long, idx [ 2; 3 ] (Array.zeroCreate 7))
                let whole, rows = dataError (fun () -> Idx.Read long), dataError (fun () -> IdxRows.Open long)
                Expect.equal (rows.Code, rows.Message) (whole.Code, whole.Message) "more data than declared")
        }
        test "a gzip file cut part way raises, when the reads get there, the error reading it whole raises" {
            withTemp (fun dir ->
                let packed = gzip (idx [ 300; 7; 9 ] body)
                let p = Path.Combine(dir, "cut.gz")
                File.WriteAllBytes(p, cutKeepingTrailer packed 0.67)
                // the header and the first rows read; the damage is found further on
                use rows = IdxRows.Open p
                let first = Array.zeroCreate<float32> 63
                rows.Read(first.AsSpan())
                Expect.equal first (body[.. 62] |> Array.map float32) "the first row"
                let whole, pieces = bothErrors p 63
                Expect.equal pieces.Code "NN0503" "code"
                Expect.equal (pieces.Code, pieces.Message) (whole.Code, whole.Message) "the same error")
        }
        test "a corrupt byte in a gzip file's data, or its checksum, raises the error reading it whole raises" {
            withTemp (fun dir ->
                let packed = gzip (idx [ 300; 7; 9 ] body)
                for at, what in [ packed.Length / 2, "data"; packed.Length - 6, "CRC-32" ] do
                    let bad = Array.copy packed
                    bad[at] <- bad[at] ^^^ 0x5Auy
                    let p = Path.Combine(dir, "corrupt.gz")
                    File.WriteAllBytes(p, bad)
                    let whole, pieces = bothErrors p 1000
                    Expect.equal (pieces.Code, pieces.Message) (whole.Code, whole.Message) $"a corrupt {what} byte")
        }
        test "a gzip file holding more after the data its header declares raises NN0514 or NN0503 as Idx.Read does" {
            withTemp (fun dir ->
                // two members joined: the first holds the whole file, the second more bytes
                let p = Path.Combine(dir, "joined.gz")
                File.WriteAllBytes(p, Array.append (gzip (idx [ 300; 7; 9 ] body)) (gzip [| 1uy; 2uy |]))
                let whole, pieces = bothErrors p 4096
                Expect.equal (pieces.Code, pieces.Message) (whole.Code, whole.Message) "the same error")
        }
    ]
