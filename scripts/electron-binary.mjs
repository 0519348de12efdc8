console.log("electron-binary placeholder")
