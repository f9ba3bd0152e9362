module Nn.Tests.Runtime.Data.NpyTests

open System
open System.IO
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Data

let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-npy-" f

let private dataError f = Nn.Tests.TestUtil.dataError f

/// An NPY version 1.0 file with the given header dict (padded as numpy pads it) and data bytes.
let private npy (dict: string) (data: byte[]) =
    let total = (10 + dict.Length + 1 + 63) / 64 * 64
    let header = dict.PadRight(total - 11) + "\n"
    Array.concat [ [| 0x93uy |]; Encoding.ASCII.GetBytes "NUMPY"; [| 1uy; 0uy |]
                   BitConverter.GetBytes(uint16 header.Length); Encoding.ASCII.GetBytes header; data ]

let private parse (bytes: byte[]) = Npy.Parse(ReadOnlySpan bytes, "x.npy")

/// Random tensors of every supported type: rank 0..4, sizes 0..4.
let private rawTensors =
    gen {
        let! rank = Gen.choose (0, 4)
        let! shape = Gen.arrayOfLength rank (Gen.choose (0, 4))
        let n = shape |> Array.fold (*) 1
        let! kind = Gen.elements [ ElementType.F32; ElementType.F64; ElementType.I32; ElementType.I64; ElementType.U8 ]
        let! bytes = Gen.arrayOfLength (n * RawTensor.SizeOf kind) (Gen.choose (0, 255) |> Gen.map byte)
        return RawTensor(kind, shape, bytes)
    }
    |> Arb.fromGen

let private config = { FsCheckConfig.defaultConfig with maxTest = 100 }

[<Tests>]
let tests =
    testList "Runtime.Data.Npy" [
        test "a float32 vector is written exactly as numpy.save writes it" {
            let bytes = Npy.Encode(RawTensor.FromFloats([| 3 |], ReadOnlySpan [| 1.0f; 2.0f; 3.0f |]))
            let expected = npy "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
                               (Array.concat [ for v in [ 1.0f; 2.0f; 3.0f ] -> BitConverter.GetBytes v ])
            Expect.equal bytes expected "bytes"
            Expect.equal (bytes.Length - 12) 128 "data starts at byte 128, a multiple of 64"
        }
        test "a float32 tensor written to a file (its bytes straight from the tensor) is numpy.save's bytes" {
            withTemp (fun dir ->
                for shape in [ [| 3 |]; [| 2; 5 |]; [||]; [| 0; 4 |] ] do
                    let n = shape |> Array.fold (*) 1
                    let values = Array.init n (fun i -> float32 i * 0.5f - 1.0f)
                    let path = Path.Combine(dir, "y.npy")
                    Npy.Write(path, HostTensor(shape, values))
                    let dims = match shape with [| d |] -> $"({d},)" | _ -> "(" + String.Join(", ", shape) + ")"
                    let expected = npy $"{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}"
                                       (Array.concat [ for v in values -> BitConverter.GetBytes v ])
                    Expect.equal (File.ReadAllBytes path) expected $"shape {dims}")
        }
        test "numpy headers of every supported dtype are read, including version 2.0" {
            let t = parse (npy "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }"
                               (Array.append (BitConverter.GetBytes 5L) (BitConverter.GetBytes -7L)))
            Expect.equal (t.Type, t.Shape, t.ToInt64s()) (ElementType.I64, [| 2; 1 |], [| 5L; -7L |]) "int64"
            let u8 = parse (npy "{'descr': '|u1', 'fortran_order': False, 'shape': (), }" [| 200uy |])
            Expect.equal (u8.ToHost().Data) [| 200.0f |] "a u8 scalar"
            let v1 = npy "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }" (BitConverter.GetBytes 0.5)
            // version 2.0: the same header behind a 4-byte length
            let length = BitConverter.GetBytes(uint32 (v1.Length - 10 - 8))
            let v2 = Array.concat [ v1.[0..5]; [| 2uy; 0uy |]; length; v1.[10..] ]
            Expect.equal ((parse v2).ToDoubles()) [| 0.5 |] "version 2.0"
        }
        test "a one-dimensional array in Fortran order is the same as C order and is accepted" {
            let t = parse (npy "{'descr': '<i4', 'fortran_order': True, 'shape': (2,), }"
                               (Array.append (BitConverter.GetBytes 1) (BitConverter.GetBytes 2)))
            Expect.equal (t.ToInt32s()) [| 1; 2 |] "values"
        }
        test "a matrix in Fortran order is refused with the fix" {
            let e = dataError (fun () ->
                parse (npy "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }" (Array.zeroCreate 24)))
            Expect.equal e.Code "NN0531" "code"
            Expect.equal e.Message "x.npy: the array is stored in Fortran (column-major) order; save it in C order, \
                                    e.g. numpy.save(path, numpy.ascontiguousarray(a))" "message"
        }
        test "an unsupported dtype lists the supported ones" {
            for descr in [ ">f4"; "<c8"; "<U5" ] do
                let e = dataError (fun () ->
                    parse (npy $"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}" (Array.zeroCreate 8)))
                Expect.equal e.Code "NN0532" "code"
                Expect.equal e.Message $"x.npy: unsupported dtype '{descr}'; supported are '<f4', '<f8', '<i4', '<i8' \
                                         and '|u1' (little-endian)" "message"
        }
        test "missing data bytes are truncation" {
            let e = dataError (fun () ->
                parse (npy "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" (Array.zeroCreate 20)))
            Expect.equal e.Code "NN0533" "code"
            Expect.equal e.Message "x.npy: truncated: expected 24 data bytes for '<f4' (2, 3), found 20" "message"
        }
        test "an absurd shape is truncation, not an overflow" {
            let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }"
            let e = dataError (fun () -> parse (npy huge (Array.zeroCreate 8)))
            Expect.equal e.Message "x.npy: truncated: expected 2251799813685248 data bytes for '<f8' (2147483647, \
                                    2147483647, 2147483647), found 8" "saturated count"
        }
        test "a file that is not NPY, or has a broken header, says so" {
            let e = dataError (fun () -> parse (Encoding.ASCII.GetBytes "a,b\n1,2\n"))
            Expect.equal (e.Code, e.Message) ("NN0530", "x.npy: not an NPY file: it does not start with the magic \
                                                         bytes \\x93NUMPY") "magic"
            let h = dataError (fun () -> parse (npy "{'descr': '<f4', 'shape': (1,), }" (Array.zeroCreate 4)))
            Expect.equal h.Message "x.npy: malformed NPY header {'descr': '<f4', 'shape': (1,), }: expected 'descr', \
                                    'fortran_order' and 'shape'" "header"
            let v = dataError (fun () ->
                parse (Array.concat [ [| 0x93uy |]; Encoding.ASCII.GetBytes "NUMPY"; [| 9uy; 0uy; 0uy; 0uy |] ]))
            Expect.equal v.Message "x.npy: unsupported NPY format version 9.0; versions 1.0, 2.0 and 3.0 are \
                                    supported" "version"
        }
        test "features and targets with different row counts name both files" {
            withTemp (fun dir ->
                let x, y = Path.Combine(dir, "x.npy"), Path.Combine(dir, "y.npy")
                Npy.Write(x, HostTensor([| 10; 2 |], Array.zeroCreate 20))
                Npy.Write(y, HostTensor([| 8; 1 |], Array.zeroCreate 8))
                let e = dataError (fun () -> Npy.ReadDataset(x, y))
                Expect.equal e.Code "NN0534" "code"
                Expect.equal e.Message "x.npy holds 10 rows but y.npy holds 8; features and targets need the same \
                                        number of rows (their first axis)" "message"
                Expect.equal e.FilePath y "the targets file"
                Expect.equal (Npy.ReadDataset(x, null)).Count 10 "features alone are fine")
        }
        test "a 0-d array as features or targets is an error naming both files" {
            withTemp (fun dir ->
                let x, s = Path.Combine(dir, "x.npy"), Path.Combine(dir, "s.npy")
                Npy.Write(x, HostTensor([| 3; 2 |], Array.zeroCreate 6))
                Npy.Write(s, HostTensor([||], [| 1.0f |]))
                let e = dataError (fun () -> Npy.ReadDataset(x, s))
                Expect.equal (e.Code, e.Message) ("NN0534", "s.npy: the targets are a 0-d array (shape ()), a single \
                                                             value with no rows; x.npy holds 3 rows, so the targets \
                                                             need shape (3, ...)") "0-d targets"
                let f = dataError (fun () -> Npy.ReadDataset(s, x))
                Expect.equal (f.Code, f.Message) ("NN0534", "s.npy (paired with x.npy): the features are a 0-d array \
                                                             (shape ()), a single value with no rows; save one row per \
                                                             example, shape (N, ...)") "0-d features")
        }
        test "NaN, infinite and overflowing values name the file, row and column" {
            withTemp (fun dir ->
                let x, y = Path.Combine(dir, "x.npy"), Path.Combine(dir, "y.npy")
                Npy.Write(x, HostTensor([| 3; 2 |], [| 0.0f; 1.0f; 2.0f; nanf; 4.0f; 5.0f |]))
                Npy.Write(y, HostTensor([| 3 |], [| 0.0f; 1.0f; 2.0f |]))
                let e = dataError (fun () -> Npy.ReadDataset(x, y))
                Expect.equal e.Code "NN0542" "code"
                Expect.equal e.Message "x.npy row 2, column 2 (x[1, 1]): the value is NaN; training needs finite \
                                        numbers" "NaN feature"
                Expect.equal (e.Row |> Option.ofNullable, e.Column |> Option.ofNullable) (Some 2, Some 2) "location"
                Npy.Write(x, HostTensor([| 3; 2 |], Array.zeroCreate 6))
                Npy.Write(y, HostTensor([| 3 |], [| 0.0f; -infinityf; 2.0f |]))
                let t = dataError (fun () -> Npy.ReadDataset(x, y))
                Expect.equal t.Message "y.npy row 2 (y[1]): the value is infinite; training needs finite \
                                        numbers" "infinite target"
                Npy.Write(y, RawTensor.FromDoubles([| 3; 1 |], ReadOnlySpan [| 0.0; 1e39; 2.0 |]))
                let o = dataError (fun () -> Npy.ReadDataset(x, y))
                Expect.equal o.Message "y.npy row 2, column 1 (y[1, 0]): 1e39 is too large for a 32-bit float (the \
                                        largest is about 3.4e38); training needs finite numbers" "float64 overflow")
        }
        test "a missing input file is NN0501" {
            withTemp (fun dir ->
                let e = dataError (fun () -> Npy.ReadHost(Path.Combine(dir, "in.npy")))
                Expect.equal e.Code "NN0501" "code")
        }
        testPropertyWithConfig config "every tensor survives a write and a read" <|
            Prop.forAll rawTensors (fun t ->
                withTemp (fun dir ->
                    let p = Path.Combine(dir, "t.npy")
                    Npy.Write(p, t)
                    let back = Npy.Read p
                    back.Type = t.Type && back.Shape = t.Shape && back.Bytes = t.Bytes))
        test "a float tensor written from the host reads back as floats" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "y.npy")
                let t = HostTensor([| 2; 2 |], [| 1.0f; -2.5f; Single.MaxValue; 1e-30f |])
                Npy.Write(p, t)
                let back = Npy.ReadHost p
                Expect.equal (back.Shape, back.Data) (t.Shape, t.Data) "same tensor")
        }
    ]
