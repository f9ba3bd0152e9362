module Nn.Tests.Runtime.Training.InitializerTests

open Expecto
open Nn.Runtime.IR
open Nn.Runtime.Training

let private stats (xs: float32[]) =
    let m = xs |> Array.averageBy float
    m, sqrt (xs |> Array.averageBy (fun x -> (float x - m) ** 2.0))

/// a [rows, cols] row-major, in float64.
let private matrix (t: Nn.Runtime.Data.HostTensor) =
    let cols = t.Shape[t.Shape.Length - 1]
    Array2D.init (t.Data.Length / cols) cols (fun i j -> float t.Data[i * cols + j])

/// aᵀa (the Gram matrix of a's columns), in float64.
let private gram (a: float[,]) =
    let m, k = Array2D.length1 a, Array2D.length2 a
    Array2D.init k k (fun p q -> Seq.sum (seq { for i in 0 .. m - 1 -> a[i, p] * a[i, q] }))

let private transpose (a: float[,]) = Array2D.init (Array2D.length2 a) (Array2D.length1 a) (fun i j -> a[j, i])

/// The largest |g - I| over the elements of a square matrix g.
let private offIdentity (g: float[,]) =
    let n = Array2D.length1 g
    Seq.max [ for i in 0 .. n - 1 do
                  for j in 0 .. n - 1 -> abs (g[i, j] - (if i = j then 1.0 else 0.0)) ]

[<Tests>]
let tests =
    testList "Runtime.Training.Initializers" [
        test "fans: dense [k, units], conv [kh, kw, cin, cout], vectors and scalars" {
            Expect.equal (Initializers.Fans [| 784; 512 |]) (784, 512) "dense"
            Expect.equal (Initializers.Fans [| 5; 5; 6; 16 |]) (5 * 5 * 6, 5 * 5 * 16) "conv"
            Expect.equal (Initializers.Fans [| 10 |]) (10, 10) "vector"
            Expect.equal (Initializers.Fans [||]) (1, 1) "scalar"
        }
        test "glorot is uniform within sqrt(6 / (fan_in + fan_out))" {
            let w = Initializers.Create(InitSpec("glorot"), [| 200; 100 |], "w", 1UL)
            let limit = sqrt (6.0 / 300.0)
            Expect.all w.Data (fun x -> abs (float x) <= limit) "within the limit"
            let _, sd = stats w.Data
            Expect.floatClose { absolute = 0.003; relative = 0.0 } sd (limit / sqrt 3.0) "uniform's std"
        }
        test "he and lecun are normal with std sqrt(2 / fan_in) and sqrt(1 / fan_in)" {
            let he = Initializers.Create(InitSpec("he"), [| 3; 3; 8; 64 |], "k", 1UL)
            let m, sd = stats he.Data
            Expect.floatClose { absolute = 0.01; relative = 0.0 } m 0.0 "mean"
            Expect.floatClose { absolute = 0.01; relative = 0.0 } sd (sqrt (2.0 / 72.0)) "he std"
            let _, sd2 = stats (Initializers.Create(InitSpec("lecun"), [| 100; 200 |], "w", 1UL)).Data
            Expect.floatClose { absolute = 0.003; relative = 0.0 } sd2 0.1 "lecun std"
        }
        test "constants, uniform bounds, and streams depend on the seed and the name only" {
            Expect.all (Initializers.Create(InitSpec("constant", 0.5), [| 3 |], "c", 0UL)).Data ((=) 0.5f) "constant"
            Expect.all (Initializers.Create(InitSpec.Ones, [| 3 |], "o", 0UL)).Data ((=) 1f) "ones"
            Expect.all
                (Initializers.Create(InitSpec("uniform", 2.0, 3.0), [| 100 |], "u", 0UL)).Data
                (fun x -> x >= 2f && x < 3f)
                "uniform"
            let a = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense1.w", 4UL)
            let b = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense1.w", 4UL)
            let c = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense2.w", 4UL)
            Expect.sequenceEqual b.Data a.Data "same seed and name"
            Expect.notEqual c.Data a.Data "another name"
        }
        test "orthogonal: WᵀW = I within 1e-5 for square and tall matrices and kernels, WWᵀ = I for wide ones" {
            for shape in [ [| 32; 32 |]; [| 50; 20 |]; [| 2; 3; 4 |]; [| 1; 1 |] ] do
                let w = matrix (Initializers.Create(InitSpec("orthogonal"), shape, "rnn1.wh", 7UL))
                Expect.isLessThan (offIdentity (gram w)) 1e-5 (sprintf "WᵀW = I for %A" shape)
            // an LSTM's wh [units, 4·units]: Keras makes its rows orthonormal (the transposed Q of a [128, 32])
            let w = matrix (Initializers.Create(InitSpec("orthogonal"), [| 32; 128 |], "lstm1.wh", 7UL))
            Expect.isLessThan (offIdentity (gram (transpose w))) 1e-5 "WWᵀ = I for [32, 128]"
        }
        test "orthogonal is the Q of the QR of a Gaussian matrix from the tensor's stream, with R's diagonal positive" {
            // Keras: a = normal([max, min]); q, r = qr(a); q *= sign(diag(r)); transposed when rows < cols. Then
            // R = Qᵀa must be upper triangular with a positive diagonal, a drawn as Initializers draws every tensor
            for shape, name in [ [| 6; 4 |], "a"; [| 4; 6 |], "b" ] do
                let w = matrix (Initializers.Create(InitSpec("orthogonal"), shape, name, 3UL))
                let q = if shape[0] >= shape[1] then w else transpose w
                let m, k = Array2D.length1 q, Array2D.length2 q
                let rng = Nn.Runtime.Util.Rng.Derive(3UL, Initializers.Fnv1a name)
                let a = Array2D.zeroCreate m k
                for i in 0 .. m - 1 do
                    for j in 0 .. k - 1 do a[i, j] <- rng.NextNormal()
                let r = Array2D.init k k (fun p j -> Seq.sum (seq { for i in 0 .. m - 1 -> q[i, p] * a[i, j] }))
                for p in 0 .. k - 1 do
                    Expect.isGreaterThan r[p, p] 0.1 (sprintf "R[%d, %d] > 0 for %A" p p shape)
                    for j in 0 .. p - 1 do
                        Expect.isLessThan (abs r[p, j]) 1e-5 (sprintf "R[%d, %d] = 0 for %A" p j shape)
        }
        test "orthogonal is deterministic under the seed and the name, and refuses a vector" {
            let create seed name = (Initializers.Create(InitSpec("orthogonal"), [| 8; 8 |], name, seed)).Data
            Expect.sequenceEqual (create 5UL "rnn1.wh") (create 5UL "rnn1.wh") "same seed and name"
            Expect.notEqual (create 6UL "rnn1.wh") (create 5UL "rnn1.wh") "another seed"
            Expect.notEqual (create 5UL "rnn2.wh") (create 5UL "rnn1.wh") "another name"
            Expect.throwsT<System.ArgumentException>
                (fun () -> Initializers.Create(InitSpec("orthogonal"), [| 8 |], "v", 0UL) |> ignore)
                "a vector has no orthogonal form (the compiler reports NN0465 before)"
        }
        test "values drawn ahead (Draw) are taken by ForGraph only for the same name, initializer and shape" {
            let sp = Nn.Runtime.SourceSpan("t.nn", 1, 1, 1, 2)
            let graph (units: int) =
                let b = GraphBuilder()
                let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 3), sp)
                let w = b.Param("dense1.w", Shape.Of(3, units), InitSpec("glorot"), sp)
                let s = b.State("norm.mean", Shape.Of units, InitSpec.Zeros, sp)
                let v = b.Param("dense1.v", Shape.Of units, InitSpec("normal", 0.5), sp)
                let y = b.Binary(OpKind.Add, b.Binary(OpKind.Add, b.MatMul(x, w, sp), s, sp), v, sp)
                b.Build([ System.Collections.Generic.KeyValuePair("y", y) ])
            let g = graph 4
            let plain = Initializers.ForGraph(g, 9UL)
            // ahead: from the same nodes, then poisoned, so that a reuse shows
            let drawn = Initializers.Draw(g.Nodes, 9UL)
            Expect.sequenceEqual drawn["dense1.w"].Value.Data plain["dense1.w"].Data "Draw draws what ForGraph draws"
            for KeyValue(_, d) in drawn do System.Array.Fill(d.Value.Data, nanf)
            let taken = Initializers.ForGraph(g, 9UL, drawn)
            Expect.isTrue (System.Single.IsNaN taken["dense1.w"].Data[0]) "the drawn value is taken"
            // another shape or another initializer under the same name: drawn again
            let other = Initializers.ForGraph(graph 5, 9UL, drawn)
            Expect.all other["dense1.w"].Data System.Single.IsFinite "another shape: drawn again"
            let respec = System.Collections.Generic.Dictionary<string, Initializers.Drawn>()
            respec["dense1.v"] <- Initializers.Drawn(InitSpec("normal", 0.25), [| 4 |], drawn["dense1.v"].Value)
            let again = Initializers.ForGraph(g, 9UL, respec)
            Expect.sequenceEqual again["dense1.v"].Data plain["dense1.v"].Data "another initializer: drawn again"
        }
    ]
