package models

import (
	"reflect"
	"strings"
	"testing"
)

// The queries that scan without GORM list the columns by hand; they must
// name every column of the struct, in field order, or a new column would be
// silently missing from those reads.
func TestRawColumnListsMatchTheStructs(t *testing.T) {
	cases := []struct {
		model   any
		columns string
	}{
		{Session{}, sessionColumns},
		{User{}, userColumns},
		{CodeExchange{}, exchangeColumns},
	}
	for _, tc := range cases {
		typ := reflect.TypeOf(tc.model)
		t.Run(typ.Name(), func(t *testing.T) {
			var want []string
			for i := range typ.NumField() {
				for _, part := range strings.Split(typ.Field(i).Tag.Get("gorm"), ";") {
					if c, ok := strings.CutPrefix(part, "column:"); ok {
						want = append(want, c)
					}
				}
			}
			if got := strings.Split(tc.columns, ", "); !reflect.DeepEqual(got, want) {
				t.Fatalf("column list\n got %v\nwant %v (the struct's gorm columns, in order)", got, want)
			}
		})
	}
}
