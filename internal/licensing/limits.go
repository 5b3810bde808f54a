package licensing

// Limits bound what one client request may store. Zero values are replaced by the
// defaults in DefaultLimits.
type Limits struct {
	MaxVariableName       int // characters
	MaxVariableValue      int // characters
	MaxVariablesPerCall   int
	MaxVariablesPerDevice int
}

// DefaultLimits are the documented defaults.
var DefaultLimits = Limits{
	MaxVariableName:       255,
	MaxVariableValue:      4096,
	MaxVariablesPerCall:   100,
	MaxVariablesPerDevice: 1000,
}

func (l Limits) withDefaults() Limits {
	if l.MaxVariableName <= 0 {
		l.MaxVariableName = DefaultLimits.MaxVariableName
	}
	if l.MaxVariableValue <= 0 {
		l.MaxVariableValue = DefaultLimits.MaxVariableValue
	}
	if l.MaxVariablesPerCall <= 0 {
		l.MaxVariablesPerCall = DefaultLimits.MaxVariablesPerCall
	}
	if l.MaxVariablesPerDevice <= 0 {
		l.MaxVariablesPerDevice = DefaultLimits.MaxVariablesPerDevice
	}
	return l
}
