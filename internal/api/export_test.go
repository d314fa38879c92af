package api

// ReferenceFault is referenceFault, for the fuzz targets of package
// api_test: where valid JSON text has a fault checkJSONText must refuse
// ("" for none).
var ReferenceFault = referenceFault
