document.getElementById("app").textContent = "Reggie: find your plate";
