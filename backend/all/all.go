// Package all registers every conveyor backend with backend.Open, so a
// program that imports it for side effects can open any backend URL:
//
//	import _ "conveyor/backend/all"
//
// Programs that need one backend import only that backend's package and
// avoid linking the drivers of the others.
package all

import (
	// Each backend registers its URL schemes in init.
	_ "conveyor/backend/memory"
	_ "conveyor/backend/nats"
	_ "conveyor/backend/postgres"
	_ "conveyor/backend/redis"
	_ "conveyor/backend/sqlite"
)
