package licensing

// SwitchWindow is switchWindow, for the tests of the adaptive paths.
const SwitchWindow = switchWindow
