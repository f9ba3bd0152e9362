/// FsCheck generators shared by the test tree (passed through the test config, never registered globally).
module Nn.Tests.Generators
