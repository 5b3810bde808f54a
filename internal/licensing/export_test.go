package licensing

// RecallWindow is recallWindow, for the tests of the recall folding.
const RecallWindow = recallWindow
