/// Static built-ins: list functions, tuples. They run in the compiler (the partial evaluator unrolls them).
module internal Nn.Compiler.Builtins.Lists

open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Tensors
open Nn.Compiler.Builtins.Define

let private listArg name (v, s) =
    match v with
    | VList items -> items
    | _ -> expects name "a list" s v

let private apply (ctx: EvalContext) span f arg = ctx.Apply ctx span f arg

/// All static built-ins.
let all: Builtin list =
    [ fn "List.fold" 3 "a function, an initial value and a list" (fun ctx span args ->
          let (f, _), (init, _), xs = args3 args
          let xsSpan = snd xs
          listArg "List.fold" xs
          |> List.fold (fun acc x -> apply ctx span (apply ctx span f (acc, span)) (x, xsSpan)) init)
      // F#'s List.scan: the initial state, then the state after each element (a list one longer than xs)
      fn "List.scan" 3 "a function, an initial value and a list" (fun ctx span args ->
          let (f, _), (init, _), xs = args3 args
          let xsSpan = snd xs
          VList(listArg "List.scan" xs
                |> List.scan (fun acc x -> apply ctx span (apply ctx span f (acc, span)) (x, xsSpan)) init))
      fn "List.head" 1 "a non-empty list" (fun _ _ args ->
          match args1 args with
          | VList(x :: _), _ -> x
          | v, s -> expects "List.head" "a non-empty list" s v)
      fn "List.tail" 1 "a non-empty list" (fun _ _ args ->
          match args1 args with
          | VList(_ :: rest), _ -> VList rest
          | v, s -> expects "List.tail" "a non-empty list" s v)
      fn "List.map" 2 "a function and a list" (fun ctx span args ->
          let (f, _), xs = args2 args
          VList(listArg "List.map" xs |> List.map (fun x -> apply ctx span f (x, snd xs))))
      fn "List.mapi" 2 "a function and a list" (fun ctx span args ->
          let (f, _), xs = args2 args
          VList(listArg "List.mapi" xs |> List.mapi (fun i x ->
              apply ctx span (apply ctx span f (VNum(float i, true), span)) (x, snd xs))))
      fn "List.init" 2 "a count and a function" (fun ctx span args ->
          let (n, nSpan), (f, _) = args2 args
          let n = intOf nSpan n
          if n < 0 || n > 100000 then
              fail "NN0306" nSpan (sprintf "`List.init` needs a count from 0 to 100000, got %d" n)
          VList(List.init n (fun i -> apply ctx span f (VNum(float i, true), span))))
      fn "List.length" 1 "a list" (fun _ _ args -> VNum(float (listArg "List.length" (args1 args)).Length, true))
      fn "List.rev" 1 "a list" (fun _ _ args -> VList(List.rev (listArg "List.rev" (args1 args))))
      fn "List.sum" 1 "a list of numbers" (fun _ span args ->
          let xs = listArg "List.sum" (args1 args)
          VNum(xs |> List.sumBy (numOf span), xs |> List.forall (function VNum(_, true) -> true | _ -> false)))
      fn "List.range" 2 "a first and a last integer" (fun _ _ args ->
          let (a, aSpan), (b, bSpan) = args2 args
          let a, b = intOf aSpan a, intOf bSpan b
          if b - a > 100000 then fail "NN0306" bSpan "`List.range` is limited to 100000 elements"
          VList [ for i in a..b -> VNum(float i, true) ])
      fn "fst" 1 "a pair" (fun _ _ args ->
          match args1 args with
          | VTuple(a :: _), _ -> a
          | v, s -> expects "fst" "a pair" s v)
      fn "snd" 1 "a pair" (fun _ _ args ->
          match args1 args with
          | VTuple [ _; b ], _ -> b
          | v, s -> expects "snd" "a pair" s v)
      fn "float" 1 "a number" (fun _ _ args ->
          let v, s = args1 args
          VNum(numOf s v, false)) ]
