module Nn.Tests.Runtime.Data.IdxTests

open System
open System.IO
open System.IO.Compression
open Expecto
open Nn.Runtime.Data
open Nn.Tests

let private example name = Path.Combine(TestUtil.repoRoot, "examples", "data", name)
let private images = example "mnist10k-images-idx3-ubyte.gz"
let private labels = example "mnist10k-labels-idx1-ubyte.gz"

/// Runs `f` with a fresh folder that is deleted afterwards.
let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-idx-" f

/// The DataException `f` throws (fails the test when it throws nothing).
let private dataError f = Nn.Tests.TestUtil.dataError f

let private gzip bytes = Nn.Tests.TestUtil.gzip bytes

/// An IDX header with a type code and big-endian sizes, followed by `body`.
let private idx (typeCode: byte) (shape: int list) (body: byte[]) =
    [| yield 0uy; yield 0uy; yield typeCode; yield byte shape.Length
       for d in shape do yield! (let b = BitConverter.GetBytes d in Array.rev b)
       yield! body |]

[<Tests>]
let tests =
    testList "Runtime.Data.Idx" [
        test "the MNIST images are 10,000 bytes-valued 28x28 pictures" {
            let t = Idx.ReadImages images
            Expect.equal t.Shape [| 10000; 28; 28 |] "shape"
            Expect.isTrue (t.Data |> Array.forall (fun v -> v >= 0.0f && v <= 255.0f && v = floor v))
                "whole values 0..255"
            Expect.equal (Array.max t.Data) 255.0f "raw bytes, not scaled"
            let ink = (t.Row 0).ToArray() |> Array.filter (fun v -> v > 0.0f) |> Array.length
            Expect.isGreaterThan ink 50 "the first digit has ink"
        }
        test "unsigned bytes are kept as bytes, gzip-compressed or not, until their floats are asked for" {
            let body = Array.init 24 (fun k -> byte (k * 11))
            let expected = body |> Array.map float32
            withTemp (fun dir ->
                let file = idx 0x08uy [ 2; 3; 4 ] body
                for name, bytes in [ "plain", file; "packed.gz", gzip file ] do
                    let p = Path.Combine(dir, name)
                    File.WriteAllBytes(p, bytes)
                    let t = Idx.ReadImages p
                    Expect.equal t.Shape [| 2; 3; 4 |] (name + ": shape")
                    Expect.equal t.Bytes body (name + ": the file's bytes")
                    Expect.equal t.Data expected (name + ": as floats"))
            Expect.equal (Idx.ReadLabels labels).Length 10000 "labels read from bytes"
        }
        test "PeekByteShape reads the shape a header declares, compressed or not, and null for anything else" {
            Expect.equal (Idx.PeekByteShape(images, Idx.ImagesMagic)) [| 10000; 28; 28 |] "the MNIST images"
            Expect.equal (Idx.PeekByteShape(labels, Idx.LabelsMagic)) [| 10000 |] "the MNIST labels"
            Expect.isNull (Idx.PeekByteShape(labels, Idx.ImagesMagic)) "another magic"
            withTemp (fun dir ->
                let write name (bytes: byte[]) =
                    let p = Path.Combine(dir, name)
                    File.WriteAllBytes(p, bytes)
                    p
                let plain = idx 0x08uy [ 3; 2 ] [| 1uy .. 6uy |]
                Expect.equal (Idx.PeekByteShape(write "plain" plain)) [| 3; 2 |] "not compressed"
                // the header alone is read: a body cut short is the read's to report
                Expect.equal (Idx.PeekByteShape(write "short" plain[.. 13])) [| 3; 2 |] "a short body"
                Expect.isNull (Idx.PeekByteShape(write "floats" (idx 0x0Duy [ 1 ] [| 0uy; 0uy; 0uy; 0uy |])))
                    "not bytes"
                Expect.isNull (Idx.PeekByteShape(write "cut" plain[.. 6])) "a header cut short"
                Expect.isNull (Idx.PeekByteShape(write "empty" [||])) "empty"
                Expect.isNull (Idx.PeekByteShape(write "garbage.gz" [| 0x1fuy; 0x8buy; 1uy; 2uy; 3uy |]))
                    "a damaged gzip stream"
                Expect.isNull (Idx.PeekByteShape(Path.Combine(dir, "missing"))) "no file")
        }
        test "the MNIST labels are 10,000 digits with every class present" {
            let l = Idx.ReadLabels labels
            Expect.equal l.Length 10000 "count"
            Expect.equal (Array.distinct l |> Array.sort) [| 0 .. 9 |] "classes 0..9"
        }
        test "images and labels together make a 10-class dataset" {
            let d = Idx.ReadDataset(images, labels)
            Expect.equal d.Count 10000 "rows"
            Expect.equal (d.ClassCount |> Option.ofNullable) (Some 10) "classes"
            Expect.equal d.Targets.Shape [| 10000 |] "targets are class indices"
            Expect.equal d.ClassNames.[3] "3" "class names are the digits"
        }
        test "gzip is detected by its magic bytes, not the extension" {
            withTemp (fun dir ->
                let raw = idx 0x08uy [ 2; 2 ] [| 1uy; 2uy; 3uy; 250uy |]
                let plainNamedGz = Path.Combine(dir, "plain.gz")
                let gzNamedIdx = Path.Combine(dir, "packed.idx")
                File.WriteAllBytes(plainNamedGz, raw)
                File.WriteAllBytes(gzNamedIdx, gzip raw)
                for p in [ plainNamedGz; gzNamedIdx ] do
                    let t = Idx.Read p
                    Expect.equal t.Shape [| 2; 2 |] "shape"
                    Expect.equal t.Data [| 1.0f; 2.0f; 3.0f; 250.0f |] "values")
        }
        test "every IDX element type is read big-endian" {
            let be (b: byte[]) = Array.rev b
            let both (a: byte[]) (b: byte[]) = Array.append (be a) (be b)
            let cases =
                [ 0x09uy, [| 0xFFuy; 0x05uy |], [| -1.0f; 5.0f |]
                  0x0Buy, both (BitConverter.GetBytes -300s) (BitConverter.GetBytes 7s), [| -300.0f; 7.0f |]
                  0x0Cuy, both (BitConverter.GetBytes 70000) (BitConverter.GetBytes -2), [| 70000.0f; -2.0f |]
                  0x0Duy, both (BitConverter.GetBytes 1.5f) (BitConverter.GetBytes -0.25f), [| 1.5f; -0.25f |]
                  0x0Euy, both (BitConverter.GetBytes 2.5) (BitConverter.GetBytes 1e-3), [| 2.5f; 0.001f |] ]
            for code, body, expected in cases do
                let t = Idx.Parse(ReadOnlySpan(idx code [ 1; 2 ] body), "t.idx")
                Expect.equal t.Shape [| 1; 2 |] $"shape of type 0x%02X{code}"
                Expect.equal t.Data expected $"values of type 0x%02X{code}"
        }
        test "a missing file names the file and where it was looked for" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "nope-images.gz")
                let e = dataError (fun () -> Idx.ReadImages p)
                Expect.equal e.Code "NN0501" "code"
                Expect.equal e.Message $"nope-images.gz: file not found (looked for {p})" "message"
                Expect.equal e.FilePath p "path")
        }
        test "a labels file where images are expected is a wrong magic number" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "train-images.gz")
                File.WriteAllBytes(p, gzip (idx 0x08uy [ 2 ] [| 1uy; 2uy |]))
                let e = dataError (fun () -> Idx.ReadImages p)
                Expect.equal e.Code "NN0510" "code"
                Expect.equal e.Message "train-images.gz: wrong magic number 0x00000801, expected 0x00000803 (IDX \
                                        images)" "message"
                Expect.equal (e.ByteOffset |> Option.ofNullable) (Some 0L) "offset")
        }
        test "images where labels are expected is a wrong magic number" {
            let e = dataError (fun () ->
                Idx.Parse(ReadOnlySpan(idx 0x08uy [ 1; 1; 1 ] [| 0uy |]), "l.idx", Idx.LabelsMagic, "IDX labels"))
            Expect.equal e.Message "l.idx: wrong magic number 0x00000803, expected 0x00000801 (IDX labels)" "message"
        }
        test "a file shorter than its dimensions say is truncated" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "imgs.idx")
                File.WriteAllBytes(p, idx 0x08uy [ 10000; 28; 28 ] (Array.zeroCreate 1200))
                let e = dataError (fun () -> Idx.ReadImages p)
                Expect.equal e.Code "NN0512" "code"
                Expect.equal e.Message "imgs.idx: truncated: expected 7840000 pixel bytes after the header, found \
                                        1200" "message"
                Expect.equal (e.ByteOffset |> Option.ofNullable) (Some 1216L) "offset at the end of the data")
        }
        test "a header cut short is truncated" {
            let e = dataError (fun () -> Idx.Parse(ReadOnlySpan([| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy |]), "h.idx"))
            Expect.equal e.Message "h.idx: truncated: expected 3 dimension sizes (16 header bytes), found 6 \
                                    bytes" "message"
        }
        test "absurd dimension sizes are truncation, not an overflow" {
            let e = dataError (fun () ->
                Idx.Parse(ReadOnlySpan(idx 0x0Euy [ Int32.MaxValue; Int32.MaxValue; Int32.MaxValue ] [||]), "big.idx"))
            Expect.equal e.Message "big.idx: truncated: expected 2251799813685248 bytes (281474976710656 elements of 8 \
                                    bytes) after the header, found 0" "message"
        }
        test "a gzip file cut in half is reported as truncated" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "cut.gz")
                let packed = gzip (idx 0x08uy [ 100; 28; 28 ] (Array.init 78400 (fun i -> byte (i * 7919))))
                File.WriteAllBytes(p, packed.[.. packed.Length / 2])
                let e = dataError (fun () -> Idx.ReadImages p)
                // A truncated gzip stream is an error of its own (what survives depends on the compressor).
                Expect.equal e.Code "NN0503" "code"
                Expect.stringStarts e.Message "cut.gz: the gzip data is truncated" "message")
        }
        test "an unknown element type is named with the ones that exist" {
            let e = dataError (fun () -> Idx.Parse(ReadOnlySpan(idx 0x0Auy [ 1 ] [| 0uy |]), "x.idx"))
            Expect.equal e.Code "NN0511" "code"
            Expect.equal e.Message "x.idx: unknown IDX element type 0x0A, expected one of 0x08 (u8), 0x09 (i8), 0x0B \
                                    (i16), 0x0C (i32), 0x0D (f32), 0x0E (f64)" "message"
        }
        test "image and label counts must agree" {
            withTemp (fun dir ->
                let i = Path.Combine(dir, "i.idx")
                let l = Path.Combine(dir, "l.idx")
                File.WriteAllBytes(i, idx 0x08uy [ 3; 1; 1 ] [| 1uy; 2uy; 3uy |])
                File.WriteAllBytes(l, idx 0x08uy [ 2 ] [| 0uy; 1uy |])
                let e = dataError (fun () -> Idx.ReadDataset(i, l))
                Expect.equal e.Code "NN0513" "code"
                Expect.equal e.Message "l.idx holds 2 labels but i.idx holds 3 images; the counts must be \
                                        equal" "message")
        }
        test "bytes become floats alike on the vector path and the scalar tail, for every length 0 to 70" {
            for n in 0 .. 70 do
                let bytes = Array.init n (fun i -> byte ((i * 97 + n) % 256))
                let floats = Array.create (n + 1) nanf
                Idx.Widen(ReadOnlySpan bytes, Span floats)
                Expect.equal floats[.. n - 1] (bytes |> Array.map float32) $"values, length {n}"
                Expect.isTrue (Single.IsNaN floats[n]) $"nothing written past the bytes, length {n}"
        }
        test "a gzip file of bytes decompressed into the floats equals the bytes decompressed first" {
            // the MNIST images (one pass into the floats) against gzip's own decompression, then the parser
            use input = new GZipStream(File.OpenRead images, CompressionMode.Decompress)
            use bytes = new MemoryStream()
            input.CopyTo bytes
            let expected = Idx.Parse(ReadOnlySpan(bytes.ToArray()), "images")
            let t = Idx.ReadImages images
            Expect.equal t.Shape expected.Shape "shape"
            Expect.isTrue (t.Data.AsSpan().SequenceEqual(ReadOnlySpan expected.Data)) "every pixel"
            Expect.equal t.Data[0..783] (Array.init 784 (fun i -> float32 (bytes.GetBuffer()[16 + i]))) "first digit"
        }
        test "gzip files the one-pass read does not take whole are read the checked way, with its errors" {
            withTemp (fun dir ->
                let body = Array.init 600 (fun i -> byte (i * 31))
                let p = Path.Combine(dir, "twice.gz")
                // two gzip members joined, the last one's trailer declaring the first's length: more than declared
                File.WriteAllBytes(p, Array.append (gzip (idx 0x08uy [ 6; 10; 10 ] body)) (gzip (Array.zeroCreate 616)))
                let e = dataError (fun () -> Idx.ReadImages p)
                Expect.equal e.Code "NN0503" "code"
                Expect.stringContains e.Message "holds more than the 616 bytes its trailer declares" "message"
                // a header that declares less than the gzip trailer: the data past it is named by the IDX reader
                let q = Path.Combine(dir, "short.gz")
                File.WriteAllBytes(q, gzip (idx 0x08uy [ 5; 10; 10 ] body))
                let e = dataError (fun () -> Idx.ReadImages q)
                Expect.equal e.Code "NN0514" "code"
                // a whole small file still reads (over 64 KiB: several pieces)
                let big = Array.init (3 * 65536 + 5) (fun i -> byte (i % 251))
                let r = Path.Combine(dir, "big.gz")
                File.WriteAllBytes(r, gzip (idx 0x08uy [ big.Length ] big))
                Expect.equal (Idx.Read r).Data (big |> Array.map float32) "every value")
        }
    ]
