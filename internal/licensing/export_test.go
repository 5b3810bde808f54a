package licensing

// SwitchWindow is switchWindow, for the tests of the adaptive paths.
const SwitchWindow = switchWindow

// FlushChunk is flushChunk, for the tests of the write-behind flushes.
const FlushChunk = flushChunk
