"""One business action each: (session, clock, ports) in, result out; never commits itself."""
